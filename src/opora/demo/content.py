"""What the demo company says and who it is: names, organizations, ticket texts (ru, en).

Texts are templates with ``{slot}`` placeholders that ``plan`` fills per ticket (device,
browser, error code, amount, order number...). Every template must fill from
``plan.slots_for`` alone; a test formats all of them.

The support team works for «Пульс» / «Pulse», a messenger with paid plans, on the web,
iOS, Android and the desktop. Names, companies and domains are invented.
"""

from __future__ import annotations

from dataclasses import dataclass

Texts = dict[str, tuple[str, ...]]

PRODUCT = {"ru": "Пульс", "en": "Pulse"}
MAILBOX_ADDRESS = "support@pulse-messenger.example"
MAILBOX_SENDER = "Пульс — поддержка / Pulse Support"

# --- the team ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupSpec:
    key: str
    name: str
    line: int
    description: str


GROUPS: tuple[GroupSpec, ...] = (
    GroupSpec(
        "l1",
        "Первая линия / L1 Support",
        1,
        "Все новые обращения со всех каналов. Решаем 70–80 %, остальное эскалируем.",
    ),
    GroupSpec("l2_billing", "L2 Billing", 2, "Платежи, возвраты, подписки / payments, refunds."),
    GroupSpec(
        "l2_tech", "L2 Technical", 2, "Вход, синхронизация, ошибки приложений / sign-in, sync."
    ),
    GroupSpec("l3", "L3 Engineering", 3, "Разработчики: исправления и разбор инцидентов."),
    GroupSpec(
        "vendor",
        "Vendor: Payment Gateway",
        4,
        "PayGate, the external payment processor (line 4). Their liaison sees only this group.",
    ),
)


@dataclass(frozen=True, slots=True)
class AgentSpec:
    key: str
    email: str
    name: str
    first: dict[str, str]  # how they sign a reply, per reply language
    role: str  # admin / supervisor / agent
    language: str  # the language of their internal notes
    languages: tuple[str, ...]  # the languages they answer customers in
    groups: tuple[str, ...]
    skills: tuple[str, ...] = ()
    ticket_access: str = "all"
    female: bool = False  # Russian verbs agree: «проверил» / «проверила»


ADMIN_EMAIL = "admin@opora.dev"
ADMIN_PASSWORD = "opora-admin"

AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec("admin", ADMIN_EMAIL, "Алексей Орлов", {"ru": "Алексей", "en": "Alexey"},
              "admin", "ru", ("ru", "en"), ()),
    AgentSpec("maria", "maria.ivanova@opora.dev", "Мария Иванова", {"ru": "Мария", "en": "Maria"},
              "supervisor", "ru", ("ru", "en"), ("l1", "l2_billing", "l2_tech"),
              ("complaints", "escalations"), female=True),
    AgentSpec("olga", "olga.kuznetsova@opora.dev", "Ольга Кузнецова", {"ru": "Ольга", "en": "Olga"},
              "agent", "ru", ("ru",), ("l1",), ("login", "how-to"), female=True),
    AgentSpec("dmitry", "dmitry.sokolov@opora.dev", "Дмитрий Соколов",
              {"ru": "Дмитрий", "en": "Dmitry"}, "agent", "ru", ("ru", "en"), ("l1",),
              ("password", "profile")),
    AgentSpec("emily", "emily.carter@opora.dev", "Emily Carter", {"ru": "Эмили", "en": "Emily"},
              "agent", "en", ("en",), ("l1",), ("how-to", "feature-request"), female=True),
    AgentSpec("anna", "anna.belova@opora.dev", "Анна Белова", {"ru": "Анна", "en": "Anna"},
              "agent", "ru", ("ru", "en"), ("l1",), ("payment", "complaint"), female=True),
    AgentSpec("natalia", "natalia.morozova@opora.dev", "Наталья Морозова",
              {"ru": "Наталья", "en": "Natalia"}, "agent", "ru", ("ru", "en"), ("l2_billing",),
              ("payment", "refunds"), female=True),
    AgentSpec("james", "james.whitaker@opora.dev", "James Whitaker",
              {"ru": "Джеймс", "en": "James"}, "agent", "en", ("en",), ("l2_billing",),
              ("payment",)),
    AgentSpec("igor", "igor.lebedev@opora.dev", "Игорь Лебедев", {"ru": "Игорь", "en": "Igor"},
              "agent", "ru", ("ru", "en"), ("l2_tech",), ("sync", "login")),
    AgentSpec("daniel", "daniel.novak@opora.dev", "Daniel Novak", {"ru": "Даниэль", "en": "Daniel"},
              "agent", "en", ("en", "ru"), ("l2_tech",), ("bug", "ios", "android")),
    AgentSpec("pavel", "pavel.volkov@opora.dev", "Павел Волков", {"ru": "Павел", "en": "Pavel"},
              "agent", "ru", ("ru", "en"), ("l3",), ("backend", "sync")),
    AgentSpec("sarah", "sarah.chen@opora.dev", "Sarah Chen", {"ru": "Сара", "en": "Sarah"},
              "agent", "en", ("en",), ("l3",), ("mobile", "payments"), female=True),
    AgentSpec("tomasz", "tomasz.zielinski@paygate-partner.com", "Tomasz Zieliński (PayGate)",
              {"ru": "Томаш", "en": "Tomasz"}, "agent", "en", ("en",), ("vendor",),
              ("payment-gateway",), "groups"),
)  # fmt: skip

# --- customers ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrgSpec:
    name: str
    domain: str
    language: str
    vip: bool = False
    timezone: str = "Europe/Moscow"
    notes: str = ""


# a small demo takes the first few: a mix of Russian, English and VIP customers
ORGANIZATIONS: tuple[OrgSpec, ...] = (
    OrgSpec("Берёзка Трейд", "berezka-trade.ru", "ru"),
    OrgSpec("Bluefin Logistics", "bluefin-logistics.com", "en", timezone="Europe/London"),
    OrgSpec("Сибирские сети", "sibseti.ru", "ru", True, "Asia/Novosibirsk",
            "Ключевой клиент: 400 лицензий, персональный менеджер."),
    OrgSpec("Городские аптеки", "gorapteki.ru", "ru"),
    OrgSpec("Redwood Analytics", "redwood-analytics.io", "en", True, "Europe/London",
            "Enterprise plan, 250 seats. Escalate billing issues to L2 at once."),
    OrgSpec("Студия «Пиксель»", "pixel-studio.ru", "ru"),
    OrgSpec("Северный ветер Логистик", "sevveter-logistic.ru", "ru"),
    OrgSpec("Greenleaf Organics", "greenleaf-organics.com", "en", timezone="Europe/London"),
    OrgSpec("Волга Медиа", "volga-media.ru", "ru", True, "Europe/Samara",
            "VIP: договор с SLA, отвечать в течение часа."),
    OrgSpec("Учебный центр «Знание»", "znanie-edu.ru", "ru"),
    OrgSpec("Brightpath Learning", "brightpath-learning.com", "en", timezone="America/New_York"),
    OrgSpec("Кофейня «Зерно»", "zerno-coffee.ru", "ru"),
    OrgSpec("Atlas Freight Europe", "atlasfreight.eu", "en", True, "Europe/Berlin",
            "VIP since 2024; prefers email."),
    OrgSpec("Строймаркет Урал", "stroymarket-ural.ru", "ru", timezone="Asia/Yekaterinburg"),
    OrgSpec("ТехноПарк Плюс", "technopark-plus.ru", "ru", True),
    OrgSpec("Harbor & Main Legal", "harbormain-legal.com", "en", timezone="America/New_York"),
    OrgSpec("Клиника «Добрый доктор»", "dobry-doctor.ru", "ru"),
    OrgSpec("Агрофирма «Заря»", "zarya-agro.ru", "ru", timezone="Europe/Volgograd"),
    OrgSpec("Pinecrest Dental", "pinecrest-dental.com", "en", timezone="America/Chicago"),
    OrgSpec("Юридическое бюро «Право»", "pravo-bureau.ru", "ru"),
    OrgSpec("Quantum Parcel", "quantumparcel.io", "en", timezone="Europe/Amsterdam"),
    OrgSpec("Типография «Оттиск»", "ottisk-print.ru", "ru"),
    OrgSpec("Фитнес-клуб «Атлет»", "atlet-fit.ru", "ru"),
    OrgSpec("Silverline Travel", "silverline-travel.com", "en", timezone="Europe/London"),
    OrgSpec("Книжный дом «Переплёт»", "pereplet-books.ru", "ru"),
    OrgSpec("Турагентство «Горизонт»", "gorizont-tour.ru", "ru"),
    OrgSpec("Oakridge Property Group", "oakridge-property.com", "en", timezone="Europe/Dublin"),
    OrgSpec("Пекарня «Колосок»", "kolosok-bakery.ru", "ru"),
    OrgSpec("Автосервис «Гараж 24»", "garage24-auto.ru", "ru"),
    OrgSpec("Lumen Health", "lumenhealth.co.uk", "en", timezone="Europe/London"),
    OrgSpec("Ремонт-Профи", "remont-profi.ru", "ru"),
    OrgSpec("Невская мебель", "nevskaya-mebel.ru", "ru"),
    OrgSpec("Nordlicht Media", "nordlicht-media.de", "en", timezone="Europe/Berlin"),
    OrgSpec("ИТ-Аутсорс Сервис", "itoutsource-service.ru", "ru"),
    OrgSpec("Maple & Co Bakery", "maplebakery.ca", "en", timezone="America/Toronto"),
    OrgSpec("Цветочная лавка «Флора»", "flora-shop.ru", "ru"),
    OrgSpec("Vertex Robotics", "vertex-robotics.dev", "en", timezone="Europe/Berlin"),
    OrgSpec("Детский центр «Радуга»", "raduga-kids.ru", "ru"),
    OrgSpec("Bluebird Events", "bluebird-events.com", "en", timezone="Europe/London"),
    OrgSpec("Волна Телеком", "volna-telecom.ru", "ru"),
)  # fmt: skip

# customers who write from a personal mailbox, not from their company's domain
PERSONAL_DOMAINS = {"ru": ("pochtovik.ru", "mailbox-online.ru"), "en": ("mailfox.com",)}

RU_MALE = (
    "Александр", "Алексей", "Андрей", "Артём", "Владимир", "Дмитрий", "Евгений", "Иван",
    "Игорь", "Кирилл", "Максим", "Михаил", "Никита", "Олег", "Павел", "Роман", "Сергей",
    "Станислав", "Юрий", "Георгий", "Денис", "Антон", "Вадим", "Фёдор",
)  # fmt: skip
RU_FEMALE = (
    "Анна", "Алина", "Вера", "Дарья", "Екатерина", "Елена", "Ирина", "Ксения", "Марина",
    "Мария", "Наталья", "Ольга", "Полина", "Светлана", "Татьяна", "Юлия", "Софья", "Людмила",
    "Валентина", "Виктория", "Галина", "Надежда",
)  # fmt: skip
# male forms; the female form adds «а» (Иванов → Иванова)
RU_SURNAMES = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
    "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
    "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов",
    "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв",
    "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв",
    "Белов", "Медведев", "Антонов", "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров",
    "Давыдов", "Беляев", "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов",
    "Марков", "Миронов", "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов",
)  # fmt: skip
EN_MALE = (
    "James", "Oliver", "William", "Thomas", "Daniel", "Michael", "David", "Samuel", "Lucas",
    "Henry", "Ethan", "Noah", "Jack", "Ryan", "Adam", "Lukas", "Marco", "Jan",
)  # fmt: skip
EN_FEMALE = (
    "Emma", "Olivia", "Sophie", "Charlotte", "Amelia", "Grace", "Emily", "Hannah", "Chloe",
    "Lucy", "Isabella", "Mia", "Laura", "Sarah", "Rachel", "Anna", "Claire", "Julia",
)  # fmt: skip
EN_SURNAMES = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Roberts", "Walker",
    "Wright", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris",
    "Lewis", "Martin", "Jackson", "Clarke", "Turner", "Hill", "Scott", "Cooper", "Morris",
    "Ward", "Moore", "King", "Watson", "Baker", "Harrison", "Morgan", "Patel", "Young",
    "Allen", "Mitchell", "Anderson", "Phillips", "Bell", "Parker", "Miller", "Garcia",
    "Novak", "Kowalski", "Schneider", "Rossi", "Dubois", "Jansen", "Nielsen", "Svensson",
)  # fmt: skip

_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        ("a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p",
         "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"),
        strict=True,
    )
)  # fmt: skip


def translit(text: str) -> str:
    """Latin letters for an email address: «Фёдор Соловьёв» → «fedor solovev»."""
    return "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())


# --- slot values -----------------------------------------------------------------------

DEVICES = {
    "ios": ("iPhone 13", "iPhone 15 Pro", "iPhone 12 mini", "iPad Air", "iPhone SE"),
    "android": ("Samsung Galaxy S23", "Samsung Galaxy A54", "Xiaomi Redmi Note 12",
                "Google Pixel 7", "Honor 90", "Huawei P40"),
    "web": ("MacBook Air M2", "Lenovo ThinkPad", "Dell XPS 13", "HP ProBook"),
    "desktop": ("MacBook Pro", "Lenovo ThinkPad", "ASUS ZenBook", "Acer Aspire 5"),
}  # fmt: skip
PLATFORM_WEIGHTS = {"ios": 35, "android": 35, "web": 20, "desktop": 10}
BROWSERS = ("Chrome 124", "Firefox 125", "Safari 17.4", "Edge 124", "Opera 109",
            "Yandex Browser 24.4")  # fmt: skip

ERRORS = {
    "login": ("ERR_AUTH_401", "AUTH-1043", "TOKEN_EXPIRED", "403 Forbidden", "SESSION_REVOKED"),
    "password": ("RESET_LINK_INVALID", "PWD-2207", "ERR_AUTH_401"),
    "payment": ("PAY-3DS-FAILED", "502 Bad Gateway", "CARD_DECLINED", "PAY-1311",
                "GATEWAY_TIMEOUT"),
    "lost_messages": ("SYNC_TIMEOUT", "SYNC-409", "E-5120", "INDEX_LAG"),
    "bug": ("E-1043", "NullPointerException", "500 Internal Server Error", "MEDIA-413",
            "E-7001"),
    "profile": ("IMG-415", "E-3301", "413 Payload Too Large"),
    "how_to": ("E-1000",),
    "feature": ("E-1000",),
    "complaint": ("E-1000",),
}  # fmt: skip

SLOT_WORDS: dict[str, Texts] = {
    "ru": {
        "when": ("вчера вечером", "сегодня утром", "в понедельник", "пару дней назад",
                 "после последнего обновления", "с самого утра", "на выходных"),
        "amount": ("299 ₽", "499 ₽", "990 ₽", "1 290 ₽", "2 990 ₽", "4 990 ₽"),
        "plan": ("тариф «Про»", "тариф «Бизнес»", "тариф «Семейный»", "годовой тариф «Про»"),
        "card_brand": ("Visa", "Mastercard", "МИР"),
        "chat": ("чате «Отдел продаж»", "переписке с бухгалтерией", "семейном чате",
                 "чате проекта «Весна»", "личной переписке с клиентом", "канале «Новости»"),
        "feature": ("экспорт переписки в PDF", "вход по Face ID",
                    "режим «Не беспокоить» по расписанию", "отложенные сообщения",
                    "папки для чатов", "автоперевод сообщений", "общий календарь команды",
                    "поиск по вложениям"),
        "howto": ("создать папку для чатов", "закрепить сообщение в группе",
                  "включить двухфакторную аутентификацию", "выгрузить историю переписки",
                  "отключить уведомления для одного чата",
                  "добавить коллегу в рабочее пространство", "поменять язык интерфейса",
                  "настроить автоответ на время отпуска"),
        "menu": ("Конфиденциальность", "Чаты", "Уведомления", "Рабочее пространство",
                 "Язык и регион"),
        "bug_action": ("отправке фото", "открытии настроек", "видеозвонке",
                       "загрузке файла больше 100 МБ", "переключении между аккаунтами",
                       "поиске по чатам", "записи голосового сообщения"),
        "broken": ("поиск по сообщениям", "предпросмотр ссылок", "экспорт в PDF",
                   "режим «Не беспокоить»", "виджет на главном экране", "звук уведомлений"),
    },
    "en": {
        "when": ("last night", "this morning", "on Monday", "a couple of days ago",
                 "since the last update", "since early this morning", "over the weekend"),
        "amount": ("$4.99", "$9.99", "€14.99", "£7.99", "$49.00", "$99.00"),
        "plan": ("the Pro plan", "the Business plan", "the Family plan", "the annual Pro plan"),
        "card_brand": ("Visa", "Mastercard", "Amex"),
        "chat": ("the 'Sales team' group", "my chat with accounting", "the family group",
                 "the 'Project Phoenix' chat", "a chat with a client",
                 "the 'Announcements' channel"),
        "feature": ("PDF export of chats", "Face ID sign-in", "a scheduled Do Not Disturb mode",
                    "scheduled messages", "chat folders", "automatic message translation",
                    "a shared team calendar", "search inside attachments"),
        "howto": ("create a chat folder", "pin a message in a group",
                  "turn on two-factor authentication", "export my chat history",
                  "mute notifications for one chat", "add a colleague to my workspace",
                  "change the interface language", "set up an out-of-office auto-reply"),
        "menu": ("Privacy", "Chats", "Notifications", "Workspace", "Language & Region"),
        "bug_action": ("sending a photo", "opening Settings", "starting a video call",
                       "uploading a file over 100 MB", "switching accounts",
                       "searching my chats", "recording a voice message"),
        "broken": ("message search", "the link preview", "PDF export", "Do Not Disturb mode",
                   "the home-screen widget", "the notification sound"),
    },
}  # fmt: skip

# --- texts every topic shares ----------------------------------------------------------

COMMON: dict[str, Texts] = {
    "ru": {
        "greetings": ("Здравствуйте!", "Добрый день!", "Добрый вечер.", "Здравствуйте.",
                      "Привет!", "Добрый день, поддержка."),
        "closings": ("Спасибо.", "Заранее спасибо!", "Жду ответа.",
                     "Помогите, пожалуйста, это срочно.", "Буду {grateful} за помощь.",
                     "Спасибо за помощь!"),
        "novice": ("Я не очень разбираюсь в технике, объясните, пожалуйста, попроще.",
                   "Приложение мне установил сын, в настройках я не разбираюсь.",
                   "Не знаю, что ещё нажать, поэтому пишу вам."),
        "expert": ("Версия приложения {version}, {device}, код ошибки {error}.",
                   "Воспроизводится стабильно, кеш очищал{a}, приложение переустанавливал{a}.",
                   "Проверял{a} в {browser} и в приложении — одинаково."),
        "agent_greetings": ("Здравствуйте, {first}!", "{first}, добрый день!",
                            "Добрый день, {first}!", "Здравствуйте, {first}."),
        "signoff": ("С уважением,\n{agent}, служба поддержки {product}",
                    "Хорошего дня!\n{agent}, поддержка {product}",
                    "Если будут вопросы — пишите, поможем.\n{agent}, служба поддержки {product}"),
        "ack": ("Спасибо, что написали. Ваш вопрос требует проверки у профильных специалистов, "
                "мы уже передали его им. Вернёмся с ответом, как только будет результат.",
                "Спасибо за подробное описание! Проблему нужно проверить на стороне наших "
                "инженеров. Держим ваш запрос на контроле и напишем, как только что-то "
                "выясним."),
        "confirm": ("Проверьте, пожалуйста, и напишите, всё ли теперь работает.",
                    "Дайте знать, помогло ли это.",
                    "Если проблема останется — просто ответьте на это письмо."),
        "thanks": ("Спасибо, всё заработало!", "Получилось, спасибо большое за быструю помощь.",
                   "Да, теперь всё в порядке. Спасибо!", "Работает. Спасибо, вы очень помогли!",
                   "Спасибо, вопрос решён."),
        "not_helped": ("К сожалению, не помогло — всё то же самое.",
                       "Сделал{a}, как вы написали, но ошибка осталась.",
                       "Проблема вернулась уже на следующий день.",
                       "Не помогло. Можно как-то ускорить решение?"),
        "nudges": ("Есть новости по моему обращению?",
                   "Подскажите, когда примерно ждать решения?",
                   "Прошло уже несколько дней. Как продвигается?"),
        "follow_ups": ("Здравствуйте, снова я. Проблема повторилась: {subject}.",
                       "Добрый день! Та же история, что и в прошлый раз, опять не работает.",
                       "Снова столкнул{sya} с этой проблемой после обновления до {version}."),
        "duplicates": ("Писал{a} вам на почту, но ответа пока нет. Продублирую: {subject}.",
                       "Повторяю своё обращение: {subject}. Ответьте, пожалуйста, побыстрее.",
                       "Это срочно! {subject}."),
        "second_try": ("Жаль, что первый вариант не помог. Мы проверили ещё раз и нашли "
                       "причину.",
                       "Спасибо за терпение. Посмотрели внимательнее — дело было в другом."),
        "l1_notes": ("Клиенту ответил{a} по шаблону, если не поможет — эскалирую.",
                     "Проверил{a} историю обращений: раньше клиент с этим не обращался.",
                     "Похожие обращения сегодня уже были, слежу за количеством."),
        "handover": ("Клиент недоволен, передаю руководителю смены. Прошу взять на контроль.",
                     "Эмоциональное обращение, прошу Марию ответить лично."),
        "unhold": ("Исправление подтверждено, возвращаю в работу и отвечаю клиенту.",
                   "Вендор ответил, решение есть. Забираю обратно на L2."),
    },
    "en": {
        "greetings": ("Hello,", "Hi,", "Hi there,", "Good morning,", "Hello support team,",
                      "Dear Pulse team,"),
        "closings": ("Thanks.", "Thanks in advance!", "Looking forward to your reply.",
                     "Please help, this is urgent.", "Any help is appreciated.",
                     "Thank you!"),
        "novice": ("I'm not very technical, so please explain it simply.",
                   "My son installed the app for me and I don't know the settings.",
                   "I don't know what else to try, so I'm writing to you."),
        "expert": ("App version {version} on {device}, error code {error}.",
                   "Reproducible every time; I cleared the cache and reinstalled.",
                   "Same in {browser} and in the app."),
        "agent_greetings": ("Hi {first},", "Hello {first},", "Dear {first},", "Hi {first}!"),
        "signoff": ("Best regards,\n{agent}\n{product} Support",
                    "Kind regards,\n{agent}, {product} Support",
                    "Let us know if you need anything else.\n{agent}, {product} Support"),
        "ack": ("Thanks for reaching out. This needs a closer look from our specialists, and "
                "we've passed it on to them. We'll get back to you as soon as we know more.",
                "Thank you for the detailed report! Our engineers need to check this on our "
                "side. We're keeping an eye on your request and will update you soon."),
        "confirm": ("Could you check and let us know if everything works now?",
                    "Please let us know whether this helped.",
                    "If the problem comes back, just reply to this email."),
        "thanks": ("Thanks, it works now!", "That did it, thank you for the quick help.",
                   "All good now. Thanks!", "Works perfectly. You've been a great help!",
                   "Thanks, that solved it."),
        "not_helped": ("Unfortunately that didn't help, nothing has changed.",
                       "I did what you said, but the error is still there.",
                       "The problem came back the next day.",
                       "Didn't help. Is there any way to speed this up?"),
        "nudges": ("Any news on my request?", "Do you know roughly when this will be fixed?",
                   "It's been a few days. Any progress?"),
        "follow_ups": ("Hi, it's me again. The problem is back: {subject}.",
                       "Hello! Same issue as last time, it's not working again.",
                       "I ran into this again after updating to {version}."),
        "duplicates": ("I emailed you but haven't heard back, so repeating here: {subject}.",
                       "Following up on my request: {subject}. Please reply asap.",
                       "This is urgent! {subject}."),
        "second_try": ("Sorry the first suggestion didn't help. We looked again and found the "
                       "cause.",
                       "Thanks for your patience. We dug deeper and it was something else."),
        "l1_notes": ("Sent the standard answer; will escalate if it doesn't help.",
                     "Checked the history: first time the customer reports this.",
                     "Several similar tickets today, keeping an eye on the volume."),
        "handover": ("Customer is upset, handing over to the shift lead. Please take it.",
                     "Emotional ticket, asking Maria to reply personally."),
        "unhold": ("Fix confirmed, taking the ticket back and replying to the customer.",
                   "Vendor answered with a fix. Moving it back to L2."),
    },
}  # fmt: skip

VENDOR_NOTES = (
    "PayGate: the transaction for order {order} was stuck in clearing; released manually. "
    "Case {vendor_ref}.",
    "PayGate: 3-D Secure timeouts for this issuer were fixed on our side at {hour}:40 UTC. "
    "Case {vendor_ref}.",
    "PayGate: duplicate authorization for order {order} voided, funds return to the card "
    "in 3-5 days. Case {vendor_ref}.",
)
VENDOR_URL = "https://partners.paygate-partner.com/cases/{vendor_ref}"
KB_URL = {
    "ru": "https://help.pulse-messenger.ru/articles/{kb}",
    "en": "https://help.pulse-messenger.com/articles/{kb}",
}


# --- topics ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Topic:
    """What customers write about. ``texts`` hold what fits any ticket of the topic;
    each of ``cases`` is one concrete problem (its subjects, first messages, answers and
    resolution), so a ticket about a photo upload is answered about the photo upload."""

    key: str
    weight: int
    tags: tuple[str, ...]
    extra_tags: tuple[str, ...]
    types: tuple[tuple[str, int], ...]
    escalate_to: str | None  # the L2 group this topic goes to, when L1 cannot solve it
    p_escalate: float  # share of tickets escalated from L1
    p_l3: float  # share of escalated tickets that reach L3 (or the vendor for payments)
    texts: dict[str, Texts]
    cases: tuple[dict[str, Texts], ...]


def case(ru: Texts, en: Texts) -> dict[str, Texts]:
    return {"ru": ru, "en": en}


LOGIN = Topic(
    key="login",
    weight=14,
    tags=("login",),
    extra_tags=("activation", "sms", "2fa", "sso"),
    types=(("question", 6), ("incident", 4)),
    escalate_to="l2_tech",
    p_escalate=0.15,
    p_l3=0.2,
    texts={
        "ru": {
            "details": (
                "Пробовал{a} перезагрузить телефон и переустановить приложение — не помогло.",
                "Через веб-версию вход работает, проблема только на {device}.",
                "Мне срочно нужен доступ к рабочим чатам, там документы для клиента.",
            ),
            "questions": (
                "Подскажите, пожалуйста, на какой адрес почты или номер телефона "
                "зарегистрирован аккаунт? И пришлите, если можно, снимок экрана с ошибкой.",
                "Уточните, пожалуйста, какая версия приложения у вас установлена "
                "(Настройки → О приложении) и на каком устройстве вы входите?",
            ),
            "answers": (
                "Аккаунт на {email}. Снимок экрана прикладываю.",
                "Версия {version}, телефон {device}. Последний раз пробовал{a} около {hour}:00.",
            ),
            "notes": (
                "Проверил{a} логи авторизации по аккаунту клиента: ошибка {error}.",
                "Похожие обращения про вход сегодня уже были, слежу за количеством.",
            ),
            "escalations": (
                "Стандартные шаги не помогли, в логах ошибка {error} на стороне сервиса "
                "авторизации. Нужна проверка L2.",
            ),
            "l2_notes": (
                "Токены клиента отзываются сразу после выдачи — похоже на рассинхрон часов "
                "на одном из узлов авторизации.",
                "В логах авторизации ошибка {error} на каждый запрос клиента, воспроизводится "
                "на тестовом аккаунте.",
            ),
            "l3_reasons": ("Нужен фикс в сервисе авторизации: {error} при обновлении токена.",),
            "l3_notes": (
                "Причина найдена: неверный TTL refresh-токена после релиза {version}. Фикс "
                "выкатим в {next_version}.",
                "Фикс в сервисе авторизации на проде, у клиента вход работает.",
            ),
            "hold": (
                "Мы нашли причину ошибки, исправление войдёт в обновление {next_version}. "
                "Напишем вам, как только оно выйдет.",
            ),
        },
        "en": {
            "details": (
                "I've restarted the phone and reinstalled the app, no luck.",
                "Signing in works on the web, the problem is only on {device}.",
                "I urgently need access to my work chats, the client documents are there.",
            ),
            "questions": (
                "Could you tell us the email address or phone number the account is "
                "registered with? A screenshot of the error would help too.",
                "Which version of the app do you have (Settings → About) and which device "
                "are you signing in on?",
            ),
            "answers": (
                "The account is {email}. Screenshot attached.",
                "Version {version} on {device}. Last tried around {hour}:00.",
            ),
            "notes": (
                "Checked the auth logs for the customer's account: error {error}.",
                "Several sign-in tickets today already, keeping an eye on the volume.",
            ),
            "escalations": (
                "The standard steps didn't help, the logs show {error} in the auth service. "
                "Needs L2.",
            ),
            "l2_notes": (
                "The customer's tokens are revoked right after issue - looks like clock skew "
                "on one auth node.",
                "Auth logs show {error} on every request from this customer; reproduced on a "
                "test account.",
            ),
            "l3_reasons": ("Needs a fix in the auth service: {error} on token refresh.",),
            "l3_notes": (
                "Found it: wrong refresh-token TTL since {version}. Fix ships in "
                "{next_version}.",
                "Auth service fix is live, the customer can sign in.",
            ),
            "hold": (
                "We've found the cause; the fix will be in the {next_version} update. We'll "
                "let you know as soon as it's out.",
            ),
        },
    },
    cases=(
        case(
            {
                "subjects": ("Не могу войти в аккаунт", "Не могу войти в аккаунт, срочно",
                             "Ошибка {error} при входе"),
                "problems": (
                    "Не могу войти в аккаунт {when}. Ввожу логин и пароль, страница просто "
                    "перезагружается.",
                    "При входе появляется ошибка {error}, дальше ничего не происходит.",
                ),
                "solutions": (
                    "Мы сбросили активные сессии вашего аккаунта. Пожалуйста, полностью "
                    "закройте приложение, откройте его снова и войдите — теперь всё должно "
                    "работать.",
                ),
                "notes": (
                    "Проверил{a} логи авторизации: попытки входа есть, падают на проверке "
                    "токена ({error}).",
                ),
                "resolutions": (
                    "Клиент не мог войти в аккаунт|Сбросили сессии, клиент вошёл заново|"
                    "Доступ восстановлен",
                ),
            },
            {
                "subjects": ("Can't log in to my account", "Locked out of my account - urgent",
                             "Error {error} when signing in"),
                "problems": (
                    "I can't log in to my account {when}. I enter my email and password and "
                    "the page just reloads.",
                    "When I sign in I get the error {error} and nothing else happens.",
                ),
                "solutions": (
                    "We've reset the active sessions on your account. Please close the app "
                    "completely, open it again and sign in - it should work now.",
                ),
                "notes": (
                    "Checked the auth logs: the attempts are there, failing on token "
                    "validation ({error}).",
                ),
                "resolutions": (
                    "Customer could not sign in|Reset the sessions, customer signed in again|"
                    "Access restored",
                ),
            },
        ),
        case(
            {
                "subjects": ("Не активируется учётная запись", "Не приходит письмо для активации"),
                "problems": (
                    "Зарегистрировал{sya}, но письмо со ссылкой для активации так и не "
                    "пришло. Проверил{a} спам — пусто.",
                    "Регистрировал{sya} {when}, а учётная запись до сих пор не активирована: "
                    "письма нет ни во «Входящих», ни в «Спаме».",
                ),
                "solutions": (
                    "Письмо для активации отправлено повторно на {email}. Если его нет во "
                    "«Входящих», загляните в «Промоакции» или «Спам». Ссылка действует 24 часа.",
                ),
                "notes": (
                    "Письма активации уходят, но почтовый сервер клиента их отклоняет. "
                    "Отправил{a} повторно.",
                ),
                "resolutions": (
                    "Не приходило письмо активации|Отправили письмо повторно, подсказали про "
                    "«Спам»|Аккаунт активирован",
                ),
            },
            {
                "subjects": ("Account activation not working", "No activation email"),
                "problems": (
                    "I signed up but the activation email never arrived. Nothing in spam "
                    "either.",
                    "I registered {when} and the account is still not activated: no email in "
                    "the inbox or in spam.",
                ),
                "solutions": (
                    "We've resent the activation email to {email}. If it's not in your inbox, "
                    "check the Promotions or Spam folder. The link is valid for 24 hours.",
                ),
                "notes": (
                    "Activation emails are sent but the customer's mail server rejects them. "
                    "Resent.",
                ),
                "resolutions": (
                    "Activation email missing|Resent it, pointed to the spam folder|Account "
                    "activated",
                ),
            },
        ),
        case(
            {
                "subjects": ("Не приходит код подтверждения", "Не приходит СМС с кодом"),
                "problems": (
                    "Не приходит СМС с кодом подтверждения на номер, заканчивающийся на "
                    "{phone_tail}. Запрашивал{a} код уже несколько раз.",
                ),
                "details": ("Номер телефона в профиле не менялся.",),
                "solutions": (
                    "Задержки СМС у вашего оператора устранены. Запросите код ещё раз — он "
                    "придёт в течение минуты. Если нет, выберите получение кода звонком.",
                ),
                "notes": (
                    "СМС-шлюз отдаёт таймауты на номера этого оператора, в мониторинге уже "
                    "видно.",
                ),
                "escalations": (
                    "Коды не доходят уже у нескольких клиентов этого оператора, нужен разбор "
                    "СМС-шлюза.",
                ),
                "resolutions": (
                    "Не приходили СМС-коды|Оператор устранил задержки, код пришёл|Клиент "
                    "вошёл",
                ),
            },
            {
                "subjects": ("Verification code never arrives", "No SMS code"),
                "problems": (
                    "The SMS with the verification code never arrives on my number ending in "
                    "{phone_tail}. I've requested it several times.",
                ),
                "details": ("I haven't changed the phone number in my profile.",),
                "solutions": (
                    "The SMS delays with your carrier are fixed. Please request a new code - "
                    "it should arrive within a minute. If not, choose 'Call me' instead.",
                ),
                "notes": (
                    "The SMS gateway times out for this carrier, already visible in "
                    "monitoring.",
                ),
                "escalations": (
                    "Codes fail for several customers of this carrier, the SMS gateway needs a "
                    "look.",
                ),
                "resolutions": (
                    "SMS codes not arriving|Carrier delays fixed, code arrived|Customer signed "
                    "in",
                ),
            },
        ),
        case(
            {
                "subjects": ("Вход не работает после обновления до {version}",
                             "Выкидывает из аккаунта на {device}"),
                "problems": (
                    "После обновления приложения до версии {version} меня постоянно "
                    "выкидывает из аккаунта на {device}, приходится входить заново каждые "
                    "полчаса.",
                ),
                "solutions": (
                    "В версии {version} была ошибка с продлением сессии, мы исправили её в "
                    "{next_version}. Обновите, пожалуйста, приложение из магазина.",
                ),
                "resolutions": (
                    "Сессия сбрасывалась после обновления|Исправление в {next_version}|"
                    "Клиент больше не разлогинивается",
                ),
            },
            {
                "subjects": ("Login broken after updating to {version}",
                             "Keeps logging me out on {device}"),
                "problems": (
                    "Since updating to {version} the app keeps logging me out on {device}, I "
                    "have to sign in again every half hour.",
                ),
                "solutions": (
                    "Version {version} had a bug with session renewal, fixed in "
                    "{next_version}. Please update the app from the store.",
                ),
                "resolutions": (
                    "Session dropped after the update|Fix in {next_version}|Customer stays "
                    "signed in",
                ),
            },
        ),
        case(
            {
                "subjects": ("Не могу войти через {browser}", "Не работает вход через Google"),
                "problems": (
                    "Нажимаю «Войти через Google» в {browser} — открывается пустое окно, и "
                    "больше ничего не происходит.",
                ),
                "solutions": (
                    "Ошибка возникает, когда в браузере заблокированы сторонние cookie. "
                    "Разрешите cookie для нашего сайта в настройках {browser} и попробуйте "
                    "войти снова.",
                ),
                "resolutions": (
                    "Не работал вход через Google|Разрешили сторонние cookie|Клиент вошёл",
                ),
            },
            {
                "subjects": ("Can't sign in with {browser}", "Sign in with Google not working"),
                "problems": (
                    "When I click 'Sign in with Google' in {browser}, an empty window opens and "
                    "nothing happens.",
                ),
                "solutions": (
                    "This happens when third-party cookies are blocked. Please allow cookies "
                    "for our site in {browser} settings and try again.",
                ),
                "resolutions": (
                    "Google sign-in failed|Allowed third-party cookies|Customer signed in",
                ),
            },
        ),
    ),
)  # fmt: skip

PASSWORD = Topic(
    key="password",
    weight=12,
    tags=("password",),
    extra_tags=("2fa", "security"),
    types=(("question", 8), ("incident", 2)),
    escalate_to="l2_tech",
    p_escalate=0.06,
    p_l3=0.0,
    texts={
        "ru": {
            "details": (
                "Запрашивал{a} письмо три раза.",
                "Вход нужен срочно, там рабочая переписка.",
                "Двухфакторная аутентификация у меня не включена.",
            ),
            "questions": (
                "Подскажите, пожалуйста, с какого устройства и браузера вы входите? И когда "
                "была последняя попытка?",
            ),
            "answers": (
                "Вхожу с {device}, последний раз пробовал{a} около {hour}:00.",
                "Браузер {browser}, пробовал{a} только что.",
            ),
            "notes": ("В журнале входов чужих IP нет.",),
            "escalations": (
                "Клиент подозревает взлом, в журнале входы из другой страны. Нужна проверка "
                "безопасности.",
            ),
            "l2_notes": ("Подтверждаю вход с чужого IP, сессии отозваны, пароль сброшен.",),
        },
        "en": {
            "details": (
                "I've requested the email three times.",
                "I need access urgently, my work chats are there.",
                "I don't have two-factor authentication turned on.",
            ),
            "questions": (
                "Which device and browser are you signing in from? And when did you last "
                "try?",
            ),
            "answers": (
                "From {device}, last tried around {hour}:00.",
                "Browser is {browser}, I tried just now.",
            ),
            "notes": ("No unknown IPs in the sign-in log.",),
            "escalations": (
                "Customer suspects a hack, sign-ins from another country in the log. Needs a "
                "security check.",
            ),
            "l2_notes": ("Confirmed a sign-in from a foreign IP; sessions revoked, reset.",),
        },
    },
    cases=(
        case(
            {
                "subjects": ("Забыл{a} пароль", "Не приходит письмо для сброса пароля",
                             "Восстановление пароля"),
                "problems": (
                    "Забыл{a} пароль от аккаунта, а письмо для восстановления не приходит на "
                    "{email}.",
                ),
                "solutions": (
                    "Отправили новую ссылку для сброса пароля на {email}. Она действует 1 час — "
                    "откройте её на том же устройстве, с которого запрашивали сброс.",
                ),
                "notes": ("Письма сброса уходят, почтовый сервис клиента помечает их как спам.",),
                "resolutions": (
                    "Клиент забыл пароль|Отправили новую ссылку для сброса|Пароль изменён",
                ),
            },
            {
                "subjects": ("Forgot my password", "Password reset email not arriving",
                             "Reset password"),
                "problems": (
                    "I forgot my password and the recovery email never arrives at {email}.",
                ),
                "solutions": (
                    "We've sent a new password reset link to {email}. It's valid for 1 hour - "
                    "open it on the same device you requested it from.",
                ),
                "notes": ("Reset emails are sent; the customer's provider marks them as spam.",),
                "resolutions": (
                    "Customer forgot the password|Sent a new reset link|Password changed",
                ),
            },
        ),
        case(
            {
                "subjects": ("Ссылка для сброса пароля не работает",),
                "problems": (
                    "Перехожу по ссылке из письма для сброса пароля — пишет, что ссылка "
                    "недействительна ({error}).",
                ),
                "solutions": (
                    "Ссылка устаревает после первого открытия — возможно, почтовый сервис "
                    "открыл её для проверки. Запросите, пожалуйста, новую ссылку и откройте её "
                    "в {browser}.",
                ),
                "resolutions": (
                    "Ссылка сброса недействительна|Объяснили про одноразовую ссылку, "
                    "отправили новую|Клиент сменил пароль",
                ),
            },
            {
                "subjects": ("Password reset link doesn't work",),
                "problems": (
                    "I click the link in the password reset email and it says the link is "
                    "invalid ({error}).",
                ),
                "solutions": (
                    "The link expires after it's opened once - your mail provider may have "
                    "opened it to scan it. Please request a new link and open it in {browser}.",
                ),
                "resolutions": (
                    "Reset link invalid|Explained one-time links, sent a new one|Password "
                    "changed",
                ),
            },
        ),
        case(
            {
                "subjects": ("Не могу сменить пароль", "Ошибка {error} при смене пароля"),
                "problems": (
                    "Пытаюсь поменять пароль в настройках, но появляется ошибка {error}.",
                ),
                "solutions": (
                    "Ошибка {error} появляется, если новый пароль совпадает с одним из трёх "
                    "предыдущих. Придумайте, пожалуйста, другой: не короче 8 символов, буквы "
                    "и цифры.",
                ),
                "resolutions": (
                    "Не менялся пароль|Объяснили правило о трёх прошлых паролях|Пароль изменён",
                ),
            },
            {
                "subjects": ("Can't change my password", "Error {error} changing password"),
                "problems": (
                    "I'm trying to change my password in Settings but get error {error}.",
                ),
                "solutions": (
                    "Error {error} appears when the new password matches one of your last "
                    "three. Please choose another one: at least 8 characters, letters and "
                    "digits.",
                ),
                "resolutions": (
                    "Password change failed|Explained the last-three-passwords rule|Password "
                    "changed",
                ),
            },
        ),
        case(
            {
                "subjects": ("Пароль не подходит, хотя я его не менял{a}",
                             "Кажется, мой аккаунт взломали"),
                "problems": (
                    "Пароль перестал подходить {when}, хотя я его не менял{a}. Боюсь, что "
                    "аккаунт взломали.",
                ),
                "solutions": (
                    "Мы проверили журнал входов и на всякий случай завершили все сессии. "
                    "Задайте новый пароль по ссылке из письма и включите двухфакторную "
                    "аутентификацию в разделе «Конфиденциальность».",
                ),
                "resolutions": (
                    "Подозрение на взлом|Завершили сессии, помогли сменить пароль и включить "
                    "2FA|Аккаунт защищён",
                ),
            },
            {
                "subjects": ("Password not accepted, I never changed it",
                             "I think my account was hacked"),
                "problems": (
                    "My password stopped working {when} although I never changed it. I'm "
                    "worried the account was hacked.",
                ),
                "solutions": (
                    "We checked the sign-in log and ended all sessions to be safe. Set a new "
                    "password with the link we emailed you and turn on two-factor "
                    "authentication under Privacy.",
                ),
                "resolutions": (
                    "Possible account takeover|Ended sessions, helped reset the password and "
                    "enable 2FA|Account secured",
                ),
            },
        ),
    ),
)  # fmt: skip

PAYMENT = Topic(
    key="payment",
    weight=16,
    tags=("payment",),
    extra_tags=("refund", "subscription", "billing"),
    types=(("incident", 6), ("question", 4)),
    escalate_to="l2_billing",
    p_escalate=0.5,
    p_l3=0.2,
    texts={
        "ru": {
            "details": (
                "Выписку из банка могу прислать.",
                "Нужно срочно, без подписки не работают общие папки команды.",
                "Это уже второй раз за месяц.",
            ),
            "questions": (
                "Пришлите, пожалуйста, номер заказа и последние 4 цифры карты, с которой "
                "прошла оплата. Полный номер карты присылать не нужно!",
                "Уточните, пожалуйста, дату и сумму списания — по ним мы найдём платёж.",
            ),
            "answers": (
                "Заказ {order}, карта {card}, сумма {amount}.",
                "Списание было {when}, сумма {amount}. Выписку прикладываю.",
            ),
            "notes": ("Проверил{a} логи, ошибка 502 на шлюзе оплаты в момент платежа.",),
            "escalations": (
                "Нужен возврат средств или ручная проверка платежа — у L1 нет доступа к "
                "биллингу.",
                "Прошу проверить заказ {order} в биллинге.",
            ),
            "l2_notes": (
                "Заказ {order}: деньги списаны, подтверждения от шлюза нет. Похоже на "
                "зависшую транзакцию.",
                "Проверил{a} заказ {order} в биллинге, оформляю.",
            ),
            "l3_reasons": (
                "Транзакция {order} зависла в процессинге, нужен ответ платёжного шлюза.",
                "Шлюз возвращает {error} на 3-D Secure для карт этого банка, прошу вендора "
                "проверить.",
            ),
            "hold": (
                "Мы передали запрос в платёжную систему. Обычно ответ приходит за 1–3 "
                "рабочих дня — сообщим вам сразу, как получим его.",
            ),
        },
        "en": {
            "details": (
                "I can send a bank statement.",
                "It's urgent, shared team folders don't work without the subscription.",
                "This is the second time this month.",
            ),
            "questions": (
                "Could you send the order number and the last 4 digits of the card you paid "
                "with? Please don't send the full card number!",
                "Could you tell us the date and amount of the charge? We'll find the payment "
                "with them.",
            ),
            "answers": (
                "Order {order}, card {card}, amount {amount}.",
                "It was charged {when}, amount {amount}. Statement attached.",
            ),
            "notes": ("Checked the logs: 502 from the payment gateway at the time of payment.",),
            "escalations": (
                "Needs a refund or a manual payment check - L1 has no access to billing.",
                "Please check order {order} in billing.",
            ),
            "l2_notes": (
                "Order {order}: money captured, no confirmation from the gateway. Looks like "
                "a stuck transaction.",
                "Checked order {order} in billing, processing it.",
            ),
            "l3_reasons": (
                "Transaction {order} is stuck at the processor, need the gateway to act.",
                "Gateway returns {error} at 3-D Secure for this issuer, vendor please check.",
            ),
            "hold": (
                "We've raised this with our payment provider. They usually reply within 1-3 "
                "business days - we'll update you as soon as we hear back.",
            ),
        },
    },
    cases=(
        case(
            {
                "subjects": ("Двойное списание за подписку", "Списали деньги два раза"),
                "problems": (
                    "С карты {card} дважды списали {amount} за {plan}. Прошу вернуть лишнее "
                    "списание.",
                ),
                "solutions": (
                    "Мы нашли задвоенный платёж и оформили возврат {amount} на карту {card}. "
                    "Деньги вернутся в течение 3–10 рабочих дней, срок зависит от банка.",
                ),
                "notes": (
                    "В биллинге два платежа с одним номером заказа {order}, второй нужно "
                    "вернуть.",
                ),
                "resolutions": (
                    "Двойное списание|Оформили возврат второго платежа|Деньги возвращены",
                ),
            },
            {
                "subjects": ("Charged twice for my subscription", "Double charge"),
                "problems": (
                    "My card {card} was charged {amount} twice for {plan}. Please refund the "
                    "extra charge.",
                ),
                "solutions": (
                    "We found the duplicate payment and refunded {amount} to your card {card}. "
                    "It takes 3-10 business days to show up, depending on your bank.",
                ),
                "notes": (
                    "Two payments with the same order {order} in billing, the second needs a "
                    "refund.",
                ),
                "resolutions": ("Double charge|Refunded the second payment|Money returned",),
            },
        ),
        case(
            {
                "subjects": ("Не проходит оплата картой", "Ошибка {error} при оплате",
                             "Не могу оплатить {plan}"),
                "problems": (
                    "Пытаюсь оплатить {plan}, но после ввода кода из СМС появляется ошибка "
                    "{error}.",
                    "Оплата картой {card} не проходит ни в приложении, ни на сайте — пишет "
                    "«Платёж отклонён». Банк говорит, что с их стороны ограничений нет.",
                ),
                "solutions": (
                    "Платёж отклонялся на шаге 3-D Secure. Попробуйте, пожалуйста, оплатить "
                    "ещё раз — мы перезапустили проверку, теперь всё должно пройти.",
                ),
                "resolutions": (
                    "Оплата отклонялась на 3-D Secure|Перезапустили проверку, клиент оплатил|"
                    "Подписка оплачена",
                ),
            },
            {
                "subjects": ("Card payment keeps failing", "Error {error} at checkout",
                             "Can't pay for {plan}"),
                "problems": (
                    "I'm trying to pay for {plan}, but after entering the SMS code I get "
                    "error {error}.",
                    "Paying with my card {card} fails both in the app and on the website - it "
                    "says 'Payment declined'. My bank says there are no restrictions.",
                ),
                "solutions": (
                    "The payment was declined at the 3-D Secure step. Please try again - we've "
                    "restarted the check and it should go through now.",
                ),
                "resolutions": (
                    "Payment declined at 3-D Secure|Restarted the check, customer paid|"
                    "Subscription paid",
                ),
            },
        ),
        case(
            {
                "subjects": ("Списали {amount}, а подписка не активировалась",
                             "Оплатил{a}, но подписка не работает"),
                "problems": (
                    "Оплатил{a} {amount} {when}, деньги списались, а подписка так и не "
                    "активировалась. Номер заказа {order}.",
                ),
                "solutions": (
                    "Подписка ({plan}) активирована, срок действия продлён с учётом задержки. "
                    "Приносим извинения за неудобства.",
                ),
                "notes": ("Платёж больше суток в статусе «ожидает подтверждения» у процессинга.",),
                "resolutions": (
                    "Подписка не активировалась после оплаты|Активировали вручную, продлили "
                    "срок|Подписка работает",
                ),
            },
            {
                "subjects": ("Charged {amount} but the subscription is not active",
                             "Paid but my plan didn't activate"),
                "problems": (
                    "I paid {amount} {when}, the money is gone but the subscription never "
                    "activated. Order number {order}.",
                ),
                "solutions": (
                    "Your subscription ({plan}) is now active and extended to make up for the "
                    "delay. Sorry for the trouble.",
                ),
                "notes": (
                    "Payment has been 'awaiting confirmation' at the processor for over a day.",
                ),
                "resolutions": (
                    "Subscription inactive after payment|Activated manually, extended|"
                    "Subscription works",
                ),
            },
        ),
        case(
            {
                "subjects": ("Возврат средств по заказу {order}",
                             "Верните деньги за автопродление"),
                "problems": (
                    "Прошу оформить возврат по заказу {order}: подписку продлили "
                    "автоматически, хотя я ею больше не пользуюсь.",
                ),
                "solutions": (
                    "Возврат по заказу {order} оформлен. Автопродление мы отключили — при "
                    "необходимости его можно снова включить в разделе «Подписка».",
                ),
                "resolutions": (
                    "Возврат за автопродление|Оформили возврат, отключили автопродление|"
                    "Деньги возвращены",
                ),
            },
            {
                "subjects": ("Refund for order {order}", "Please refund the auto-renewal"),
                "problems": (
                    "Please refund order {order}: the subscription renewed automatically "
                    "although I don't use it any more.",
                ),
                "solutions": (
                    "Order {order} has been refunded and auto-renewal turned off - you can "
                    "turn it back on under Subscription at any time.",
                ),
                "resolutions": (
                    "Refund of an auto-renewal|Refunded, turned auto-renewal off|Money "
                    "returned",
                ),
            },
        ),
    ),
)  # fmt: skip

LOST_MESSAGES = Topic(
    key="lost_messages",
    weight=8,
    tags=("lost-messages",),
    extra_tags=("sync", "data-loss"),
    types=(("incident", 7), ("problem", 3)),
    escalate_to="l2_tech",
    p_escalate=0.6,
    p_l3=0.3,
    texts={
        "ru": {
            "details": (
                "Очень прошу восстановить, там договорённости с клиентами.",
                "Место на телефоне есть, интернет работает.",
                "Ничего не удалял{a}, чат не очищал{a}.",
            ),
            "questions": (
                "Подскажите, пожалуйста, на каком устройстве и в каком чате пропали "
                "сообщения? И примерно когда вы заметили пропажу?",
            ),
            "answers": (
                "На {device}, в {chat}. Заметил{a} {when}.",
                "Пропало в {chat}, примерно {count} сообщений. Устройство {device}.",
            ),
            "notes": (
                "Очередь синхронизации для аккаунта стоит с ошибкой {error}, перезапуск не "
                "помог.",
                "Попросил{a} L2 проверить очередь синхронизации.",
                "Сообщения есть в хранилище, но не доходят до клиента.",
            ),
            "escalations": (
                "Сообщения не восстанавливаются стандартной пересинхронизацией, нужна "
                "проверка очереди синхронизации.",
                "Клиент потерял {count} сообщений, в логах {error}. Нужен L2.",
            ),
            "l2_notes": (
                "Данные в хранилище на месте, индекс чата пустой. Перестроение индекса не "
                "помогло.",
                "Очередь синхронизации разобрал{a} вручную, {count} сообщений доставлены.",
            ),
            "l3_reasons": (
                "Похоже на баг миграции хранилища после {version}: данные на месте, индекс "
                "пустой. Нужен разработчик.",
                "Воспроизводится на тестовом аккаунте, нужна правка на стороне бэкенда.",
            ),
            "l3_notes": (
                "Причина: миграция индекса пропускала чаты с вложениями больше 2 ГБ. Фикс в "
                "{next_version}, данные клиента переиндексированы вручную.",
                "Исправлено на сервере, переиндексация для затронутых аккаунтов запущена.",
            ),
            "hold": (
                "Мы нашли причину, это ошибка на нашей стороне. Исправление выйдет в "
                "ближайшем обновлении, после него история восстановится. Мы сообщим.",
            ),
        },
        "en": {
            "details": (
                "Please restore them, there are agreements with clients in there.",
                "There's enough space on the phone and the internet works.",
                "I didn't delete anything or clear the chat.",
            ),
            "questions": (
                "Which device and which chat are the messages missing from? And roughly when "
                "did you notice?",
            ),
            "answers": (
                "On {device}, in {chat}. I noticed {when}.",
                "In {chat}, about {count} messages. The device is {device}.",
            ),
            "notes": (
                "Sync queue for the account is stuck with {error}, restart didn't help.",
                "Asked L2 to check the sync queue.",
                "Messages are in storage but don't reach the client.",
            ),
            "escalations": (
                "A standard resync doesn't bring the messages back, the sync queue needs "
                "checking.",
                "Customer lost {count} messages, {error} in the logs. Needs L2.",
            ),
            "l2_notes": (
                "Data is in storage, the chat index is empty. Rebuilding the index didn't "
                "help.",
                "Drained the sync queue by hand, {count} messages delivered.",
            ),
            "l3_reasons": (
                "Looks like a storage migration bug since {version}: data present, index "
                "empty. Needs a developer.",
                "Reproducible on a test account, needs a backend fix.",
            ),
            "l3_notes": (
                "Found it: the index migration skipped chats with attachments over 2 GB. "
                "Fixed in {next_version}; reindexed this customer by hand.",
                "Fixed on the server, reindexing of affected accounts started.",
            ),
            "hold": (
                "We've found the cause - it's a bug on our side. The fix is in the next "
                "update, after which your history will be back. We'll let you know.",
            ),
        },
    },
    cases=(
        case(
            {
                "subjects": ("Пропали сообщения в чате", "Исчезла история переписки",
                             "Восстановите, пожалуйста, переписку"),
                "problems": (
                    "В {chat} пропали все сообщения за последнюю неделю — примерно {count} "
                    "штук. Там была важная рабочая информация.",
                    "Собеседник видит мои сообщения, а у меня их нет. Пропало около {count} "
                    "сообщений.",
                ),
                "solutions": (
                    "Мы восстановили историю из резервной копии: все {count} сообщений снова "
                    "на месте. Перезапустите, пожалуйста, приложение, чтобы они появились.",
                ),
                "resolutions": (
                    "Пропали сообщения в чате|Восстановили из резервной копии|История на "
                    "месте",
                ),
            },
            {
                "subjects": ("Messages disappeared from a chat", "Chat history is gone",
                             "Please restore my conversation"),
                "problems": (
                    "All messages from the last week disappeared from {chat} - about {count} "
                    "of them. There was important work information there.",
                    "The other person sees my messages but I don't. About {count} messages "
                    "are missing.",
                ),
                "solutions": (
                    "We've restored your history from a backup: all {count} messages are back. "
                    "Please restart the app to see them.",
                ),
                "resolutions": (
                    "Messages missing from a chat|Restored from a backup|History back",
                ),
            },
        ),
        case(
            {
                "subjects": ("Не синхронизируются сообщения между устройствами",
                             "Сообщения не приходят в веб-версию"),
                "problems": (
                    "На {device} сообщения есть, а в веб-версии — нет. Синхронизация как будто "
                    "остановилась {when}.",
                ),
                "solutions": (
                    "Синхронизация была остановлена из-за ошибки {error}. Мы перезапустили её "
                    "для вашего аккаунта — в течение часа история подтянется на все "
                    "устройства.",
                ),
                "resolutions": (
                    "Остановилась синхронизация|Перезапустили синхронизацию аккаунта|История "
                    "на всех устройствах",
                ),
            },
            {
                "subjects": ("Messages not syncing between devices",
                             "Messages don't show up on the web"),
                "problems": (
                    "The messages are on my {device} but not on the web. Sync seems to have "
                    "stopped {when}.",
                ),
                "solutions": (
                    "Sync had stopped because of error {error}. We've restarted it for your "
                    "account - your history will reach all devices within an hour.",
                ),
                "resolutions": (
                    "Sync stopped|Restarted the account's sync|History on all devices",
                ),
            },
        ),
        case(
            {
                "subjects": ("Пропали сообщения после обновления", "Не вижу старые сообщения"),
                "problems": (
                    "После обновления до {version} в {chat} остались только сообщения за "
                    "последние два дня.",
                ),
                "solutions": (
                    "Исправление вошло в версию {next_version}. После обновления история "
                    "загрузится заново.",
                ),
                "resolutions": (
                    "Пустой индекс чата после обновления|Исправление в {next_version}|"
                    "Сообщения вернулись",
                ),
            },
            {
                "subjects": ("Lost messages after the update", "Can't see my older messages"),
                "problems": ("After updating to {version}, {chat} only shows the last two days.",),
                "solutions": (
                    "The fix is in version {next_version}. After updating, your history will "
                    "load again.",
                ),
                "resolutions": (
                    "Empty chat index after the update|Fix in {next_version}|Messages back",
                ),
            },
        ),
    ),
)  # fmt: skip

BUG = Topic(
    key="bug",
    weight=14,
    tags=("bug",),
    extra_tags=("crash", "regression", "ios", "android"),
    types=(("incident", 7), ("problem", 3)),
    escalate_to="l2_tech",
    p_escalate=0.5,
    p_l3=0.45,
    texts={
        "ru": {
            "details": (
                "Запись экрана могу прислать.",
                "У коллег на том же устройстве то же самое.",
                "На {browser} в веб-версии всё работает.",
            ),
            "questions": (
                "Спасибо за описание! Чтобы воспроизвести ошибку, подскажите модель "
                "устройства, версию системы и приложения. Если можно, приложите запись "
                "экрана.",
            ),
            "answers": (
                "{device}, версия приложения {version}. Запись экрана прикрепил{a}.",
                "Устройство {device}, приложение обновлено до {version}, ошибка повторяется "
                "каждый раз.",
            ),
            "notes": (
                "Воспроизводится на тестовом {device}.",
                "В Sentry тот же стек у 40+ пользователей с версией {version}.",
                "Связал{a} с проблемным тикетом, туда собираем все такие обращения.",
            ),
            "escalations": (
                "Воспроизводится стабильно, базовые шаги (кеш, переустановка) не помогли.",
                "Похоже на регрессию в {version}, нужен разбор L2.",
            ),
            "l2_notes": (
                "Воспроизводится на {device} с {version}. Логи и запись экрана приложены.",
                "Серверная ошибка {error} при {bug_action}, в логах таймаут сервиса медиа.",
            ),
            "l3_reasons": (
                "Крэш в нативном модуле, нужна правка разработчиков. Логи приложены.",
                "Подтверждённый баг: {error} на сервере при {bug_action}. Передаю в "
                "разработку.",
            ),
            "l3_notes": (
                "Причина найдена, исправлено в {next_version}, релиз в четверг.",
                "Фикс выкатили на сервер, проверил{a} на аккаунте клиента — всё в порядке.",
            ),
            "hold": (
                "Мы подтвердили ошибку и передали её разработчикам. Исправление планируется "
                "в версии {next_version}; напишем, как только она выйдет.",
            ),
        },
        "en": {
            "details": (
                "I can send a screen recording.",
                "Colleagues with the same device have the same problem.",
                "Everything works on the web in {browser}.",
            ),
            "questions": (
                "Thanks for the report! To reproduce it, could you tell us your device model, "
                "OS and app version? A screen recording would help a lot.",
            ),
            "answers": (
                "{device}, app version {version}. Screen recording attached.",
                "Device is {device}, app updated to {version}, happens every time.",
            ),
            "notes": (
                "Reproduced on a test {device}.",
                "Same stack trace in Sentry for 40+ users on {version}.",
                "Linked to the problem ticket where we collect all these reports.",
            ),
            "escalations": (
                "Reproducible every time; the basics (cache, reinstall) didn't help.",
                "Looks like a regression in {version}, needs L2.",
            ),
            "l2_notes": (
                "Reproduced on {device} with {version}. Logs and recording attached.",
                "Server error {error} when {bug_action}, media service timeout in the logs.",
            ),
            "l3_reasons": (
                "Crash in a native module, needs a developer fix. Logs attached.",
                "Confirmed bug: {error} on the server when {bug_action}. Passing to "
                "engineering.",
            ),
            "l3_notes": (
                "Root cause found, fixed in {next_version}, release on Thursday.",
                "Fix deployed to the server; checked on the customer's account - OK.",
            ),
            "hold": (
                "We've confirmed the bug and passed it to our developers. The fix is planned "
                "for version {next_version}; we'll write as soon as it's out.",
            ),
        },
    },
    cases=(
        case(
            {
                "subjects": ("Приложение вылетает при {bug_action}",
                             "Зависает при {bug_action} на {device}", "Вылетает приложение"),
                "problems": (
                    "Приложение закрывается при {bug_action}. {device}, версия {version}.",
                    "Каждый раз при {bug_action} экран зависает на несколько секунд, потом "
                    "приложение вылетает.",
                ),
                "solutions": (
                    "Мы нашли причину ошибки. Исправление вышло в версии {next_version} — "
                    "обновите, пожалуйста, приложение.",
                    "Пока готовим исправление, помогает очистка кеша (Настройки → Память → "
                    "Очистить кеш). Полное исправление будет в {next_version}.",
                ),
                "resolutions": (
                    "Крэш приложения|Исправлено в {next_version}|Клиент обновился, крэша нет",
                ),
            },
            {
                "subjects": ("App crashes when {bug_action}",
                             "Freezes when {bug_action} on {device}", "App keeps crashing"),
                "problems": (
                    "The app closes when {bug_action}. {device}, version {version}.",
                    "Whenever I try {bug_action}, the screen freezes for a few seconds and "
                    "then the app crashes.",
                ),
                "solutions": (
                    "We found the cause. The fix is in version {next_version} - please update "
                    "the app.",
                    "While we prepare the fix, clearing the cache helps (Settings → Storage → "
                    "Clear cache). The full fix comes in {next_version}.",
                ),
                "resolutions": (
                    "App crash|Fixed in {next_version}|Customer updated, no crash",
                ),
            },
        ),
        case(
            {
                "subjects": ("Ошибка {error} при {bug_action}",),
                "problems": (
                    "При {bug_action} появляется ошибка {error}, после этого приходится "
                    "перезапускать приложение.",
                ),
                "solutions": (
                    "Проблема была на нашей стороне и уже исправлена на сервере. Обновлять "
                    "ничего не нужно, просто перезапустите приложение.",
                ),
                "resolutions": ("Серверная ошибка {error}|Фикс на сервере|Функция работает",),
            },
            {
                "subjects": ("Error {error} when {bug_action}",),
                "problems": (
                    "Error {error} appears when {bug_action}, and then I have to restart the "
                    "app.",
                ),
                "solutions": (
                    "The problem was on our side and is now fixed on the server. No update "
                    "needed, just restart the app.",
                ),
                "resolutions": ("Server error {error}|Fixed on the server|Feature works",),
            },
        ),
        case(
            {
                "subjects": ("Не работает {broken}", "Баг: {broken} в версии {version}"),
                "problems": (
                    "После обновления до {version} не работает {broken}. Раньше всё было "
                    "нормально.",
                ),
                "solutions": (
                    "Спасибо, что сообщили! Ошибку исправили в версии {next_version} — "
                    "обновите, пожалуйста, приложение.",
                ),
                "resolutions": (
                    "Регрессия после обновления|Исправлено в {next_version}|Функция работает",
                ),
            },
            {
                "subjects": ("{broken} doesn't work", "Bug in {version}: {broken} stopped working"),
                "problems": (
                    "Since the update to {version}, {broken} doesn't work. It was fine before.",
                ),
                "solutions": (
                    "Thanks for letting us know! It's fixed in version {next_version} - please "
                    "update the app.",
                ),
                "resolutions": ("Regression after an update|Fixed in {next_version}|Works",),
            },
        ),
    ),
)  # fmt: skip

FEATURE = Topic(
    key="feature",
    weight=8,
    tags=("feature-request",),
    extra_tags=("product-feedback",),
    types=(("feature_request", 1),),
    escalate_to=None,
    p_escalate=0.0,
    p_l3=0.0,
    texts={
        "ru": {
            "details": (
                "Готовы поучаствовать в тестировании.",
                "Если нужно, опишу подробнее, как мы работаем.",
            ),
            "questions": (
                "Спасибо за идею! Расскажите, пожалуйста, для каких задач вам это нужно — так "
                "мы точнее передадим запрос команде продукта.",
            ),
            "answers": (
                "Нам это нужно для работы с клиентами: сейчас тратим на это по часу в день.",
            ),
            "notes": (
                "Добавил{a} голос в запрос в трекере продукта (FR-{fr}).",
                "Уже двенадцатый запрос на эту функцию за месяц, стоит поднять на "
                "планировании.",
            ),
        },
        "en": {
            "details": (
                "Happy to help test it.",
                "I can describe how we work in more detail if that helps.",
            ),
            "questions": (
                "Thanks for the idea! What do you need it for? It helps us describe the "
                "request to the product team.",
            ),
            "answers": (
                "We need it for client work: it costs us about an hour a day right now.",
            ),
            "notes": (
                "Added a vote to the product request (FR-{fr}).",
                "Twelfth request for this feature this month, worth raising at planning.",
            ),
        },
    },
    cases=(
        case(
            {
                "subjects": ("Предложение: {feature}", "Добавьте, пожалуйста, {feature}",
                             "Идея для приложения", "Планируете {feature}?",
                             "Не хватает функции: {feature}"),
                "problems": (
                    "Очень не хватает такой функции: {feature}. Пользуемся {product} всей "
                    "командой, это сэкономило бы нам много времени.",
                    "Предлагаю добавить {feature}. Сейчас приходится пользоваться сторонними "
                    "сервисами.",
                    "У других мессенджеров уже есть {feature}, а у вас пока нет. Планируете?",
                ),
                "solutions": (
                    "Спасибо за идею! Передали её команде продукта. Сроков пока обещать не "
                    "можем, но такие предложения учитываем при планировании.",
                    "Хорошая новость: {feature} уже в планах на следующий квартал. Добавили "
                    "ваш голос к этому запросу.",
                ),
                "resolutions": (
                    "Запрос функции: {feature}|Передали в продукт (FR-{fr})|Клиент "
                    "проинформирован",
                ),
            },
            {
                "subjects": ("Suggestion: {feature}", "Please add {feature}",
                             "An idea for the app", "Any plans for {feature}?",
                             "Missing feature: {feature}"),
                "problems": (
                    "We really miss {feature}. Our whole team uses {product}, it would save us "
                    "a lot of time.",
                    "I'd like to suggest {feature}. Right now we have to use other tools for "
                    "it.",
                    "Other messengers already have {feature}, but you don't yet. Any plans?",
                ),
                "solutions": (
                    "Thanks for the idea! We've passed it to the product team. We can't "
                    "promise a date, but requests like this shape our plans.",
                    "Good news: {feature} is already planned for next quarter. We've added "
                    "your vote to the request.",
                ),
                "resolutions": (
                    "Feature request: {feature}|Passed to product (FR-{fr})|Customer informed",
                ),
            },
        ),
    ),
)  # fmt: skip

HOW_TO = Topic(
    key="how_to",
    weight=16,
    tags=("how-to",),
    extra_tags=("faq", "settings"),
    types=(("question", 1),),
    escalate_to=None,
    p_escalate=0.0,
    p_l3=0.0,
    texts={
        "ru": {
            "details": (
                "Пользуюсь в основном приложением на {device}.",
                "Нужно настроить для всей команды.",
            ),
            "questions": (
                "Уточните, пожалуйста, вы пользуетесь приложением на телефоне или "
                "веб-версией? От этого зависит, где находится настройка.",
            ),
            "answers": ("В приложении на {device}.", "В веб-версии, браузер {browser}."),
            "notes": (
                "Вопрос частый — стоит добавить в FAQ.",
                "В статье базы знаний устаревшие скриншоты, написал{a} контент-команде.",
            ),
        },
        "en": {
            "details": (
                "I mostly use the app on {device}.",
                "I need to set this up for the whole team.",
            ),
            "questions": (
                "Are you using the phone app or the web version? The setting is in a "
                "different place in each.",
            ),
            "answers": ("The app on {device}.", "The web version, in {browser}."),
            "notes": (
                "Frequent question - worth adding to the FAQ.",
                "The KB article has outdated screenshots, told the content team.",
            ),
        },
    },
    cases=(
        case(
            {
                "subjects": ("Как {howto}?", "Подскажите, как {howto}",
                             "Не понимаю, как {howto}"),
                "problems": (
                    "Подскажите, пожалуйста, как {howto}. Искал{a} в настройках, но ничего "
                    "не нашлось.",
                    "Не могу разобраться, как {howto}. В справке написано про меню «Ещё», но "
                    "у меня такого пункта нет.",
                    "Коллега говорит, что можно {howto}, но у меня не получается. Что я делаю "
                    "не так?",
                ),
                "solutions": (
                    "Чтобы {howto}, откройте «Настройки» → «{menu}» и включите нужный пункт. "
                    "Пошаговая инструкция с картинками: {kb_url}",
                    "Это можно сделать и в веб-версии, и в приложении: нажмите на три точки в "
                    "правом верхнем углу и выберите «{menu}». Подробнее — в статье {kb_url}",
                ),
                "resolutions": (
                    "Клиент не знал, как {howto}|Дали ссылку на статью|Клиент настроил сам",
                ),
            },
            {
                "subjects": ("How do I {howto}?", "How to {howto}",
                             "Can't figure out how to {howto}"),
                "problems": (
                    "How do I {howto}? I looked through the settings but couldn't find it.",
                    "I can't figure out how to {howto}. The help page mentions a 'More' menu, "
                    "but I don't have one.",
                    "A colleague says you can {howto}, but it doesn't work for me. What am I "
                    "doing wrong?",
                ),
                "solutions": (
                    "To {howto}, open Settings → {menu} and switch on the option you need. "
                    "Step-by-step guide with pictures: {kb_url}",
                    "You can do it both on the web and in the app: tap the three dots in the "
                    "top right corner and choose '{menu}'. More in this article: {kb_url}",
                ),
                "resolutions": (
                    "Customer asked how to {howto}|Sent the KB article|Customer set it up",
                ),
            },
        ),
    ),
)  # fmt: skip

COMPLAINT = Topic(
    key="complaint",
    weight=5,
    tags=("complaint",),
    extra_tags=("escalated-to-lead",),
    types=(("complaint", 1),),
    escalate_to=None,
    p_escalate=0.0,
    p_l3=0.0,
    texts={
        "ru": {
            "details": (
                "Если не решите, буду писать в отзывы.",
                "Пользуюсь {product} пять лет, раньше такого не было.",
            ),
            "questions": (
                "Приносим извинения. Подскажите, пожалуйста, номер прошлого обращения или "
                "дату, когда вы писали, — я лично разберусь.",
            ),
            "answers": ("Писал{a} {when}, ответа по существу так и не получил{a}.",),
            "notes": ("Согласовала компенсацию — месяц подписки.",),
        },
        "en": {
            "details": (
                "If this isn't solved I'll leave a review.",
                "I've used {product} for five years and never had this before.",
            ),
            "questions": (
                "We're sorry. Could you give us the number of your earlier request, or when "
                "you wrote? I'll look into it personally.",
            ),
            "answers": ("I wrote {when} and never got a real answer.",),
            "notes": ("Approved a one-month credit as compensation.",),
        },
    },
    cases=(
        case(
            {
                "subjects": ("Жалоба на работу поддержки",
                             "Жалоба: третий день не могу решить вопрос"),
                "problems": (
                    "Третий раз пишу по одному и тому же вопросу и каждый раз получаю "
                    "шаблонный ответ. Прошу разобраться и ответить по существу.",
                    "Оператор в чате закрыл моё обращение, не дождавшись ответа. Это "
                    "неуважение к клиентам.",
                ),
                "solutions": (
                    "Приносим извинения. Я руководитель смены и разобрала ситуацию с "
                    "командой: мы обновили инструкции для операторов, чтобы такое не "
                    "повторялось. В качестве компенсации начислили вам месяц подписки "
                    "бесплатно.",
                ),
                "notes": (
                    "Проверила историю: три обращения за неделю, ответы действительно "
                    "шаблонные. Разобрала с командой.",
                ),
                "resolutions": (
                    "Жалоба на качество ответов|Извинились, компенсировали месяц подписки|"
                    "Клиент удовлетворён",
                ),
            },
            {
                "subjects": ("Complaint about your support", "Third day and still not solved"),
                "problems": (
                    "This is the third time I'm writing about the same issue and each time I "
                    "get a canned answer. Please look into it properly.",
                    "The chat agent closed my request without waiting for my answer. That's "
                    "disrespectful.",
                ),
                "solutions": (
                    "We apologise. I lead the support shift and went through this with the "
                    "team; we've updated our guidelines so it doesn't happen again. As a "
                    "thank-you for your patience, we've added a free month to your "
                    "subscription.",
                ),
                "notes": (
                    "Checked the history: three tickets this week, the answers really were "
                    "canned. Discussed with the team.",
                ),
                "resolutions": (
                    "Complaint about answer quality|Apologised, one month credit|Customer "
                    "satisfied",
                ),
            },
        ),
        case(
            {
                "subjects": ("Претензия: списали деньги без предупреждения",),
                "problems": (
                    "С меня списали {amount} за продление, хотя я отключал{a} автопродление. "
                    "Требую вернуть деньги.",
                ),
                "solutions": (
                    "Приносим извинения. Я руководитель смены и лично разобралась в ситуации: "
                    "{amount} вернём на вашу карту в течение 3–5 рабочих дней, автопродление "
                    "отключено. Обращение остаётся на моём контроле.",
                ),
                "resolutions": (
                    "Списание после отключения автопродления|Вернули деньги|Претензия "
                    "закрыта",
                ),
            },
            {
                "subjects": ("Charged without warning - complaint",),
                "problems": (
                    "You charged me {amount} for a renewal although I had turned auto-renewal "
                    "off. I want my money back.",
                ),
                "solutions": (
                    "We're sorry. I lead the support shift and looked into it personally: "
                    "{amount} will be refunded to your card within 3-5 business days and "
                    "auto-renewal is off. I'm keeping an eye on your request.",
                ),
                "resolutions": (
                    "Charged after auto-renewal was off|Refunded|Complaint closed",
                ),
            },
        ),
        case(
            {
                "subjects": ("Претензия по качеству звонков", "Очень недоволен сервисом"),
                "problems": (
                    "Звонки постоянно обрываются, а у меня оплачен {plan}. За что я плачу?",
                ),
                "solutions": (
                    "Приносим извинения. Звонки обрывались из-за перегрузки одного из "
                    "серверов в вашем регионе, сейчас нагрузка перераспределена. За "
                    "неудобства начислили вам месяц подписки бесплатно.",
                ),
                "resolutions": (
                    "Обрывы звонков|Перераспределили нагрузку, компенсация|Клиент доволен",
                ),
            },
            {
                "subjects": ("Complaint about call quality", "Very unhappy with the service"),
                "problems": (
                    "Calls keep dropping and I'm paying for {plan}. What am I paying for?",
                ),
                "solutions": (
                    "We're sorry. Calls dropped because one of our servers in your region was "
                    "overloaded; the load has been spread out. We've added a free month to "
                    "your subscription for the trouble.",
                ),
                "resolutions": (
                    "Dropped calls|Rebalanced the load, compensation|Customer happy",
                ),
            },
        ),
    ),
)  # fmt: skip

PROFILE = Topic(
    key="profile",
    weight=7,
    tags=("profile",),
    extra_tags=("personal-data",),
    types=(("task", 5), ("question", 5)),
    escalate_to="l2_tech",
    p_escalate=0.08,
    p_l3=0.0,
    texts={
        "ru": {
            "details": ("Устройство {device}.", "Пробовал{a} и в приложении, и в веб-версии."),
            "questions": (
                "Для изменения данных нам нужно убедиться, что аккаунт ваш. Ответьте, "
                "пожалуйста, с адреса, указанного в профиле, и назовите примерную дату "
                "последней оплаты.",
            ),
            "answers": ("Пишу с адреса из профиля. Последняя оплата была {when}, {amount}.",),
            "notes": ("Проверил{a} владение: данные совпадают.",),
            "escalations": ("Изменение не сохраняется на сервере ({error}), нужна проверка L2.",),
            "l2_notes": ("Профиль был заблокирован на запись после миграции, снял{a} блок.",),
        },
        "en": {
            "details": ("Device: {device}.", "Tried both the app and the web version."),
            "questions": (
                "To change your details we need to make sure the account is yours. Please "
                "reply from the address on the profile and tell us roughly when you last "
                "paid.",
            ),
            "answers": ("Writing from the profile address. Last payment was {when}, {amount}.",),
            "notes": ("Verified ownership: details match.",),
            "escalations": ("The change doesn't persist on the server ({error}), needs L2.",),
            "l2_notes": ("Profile was write-locked after the migration, lifted the lock.",),
        },
    },
    cases=(
        case(
            {
                "subjects": ("Как изменить номер телефона в профиле", "Сменил{a} номер телефона"),
                "problems": (
                    "Сменил{a} номер телефона, хочу привязать к аккаунту новый, а старой "
                    "SIM-карты уже нет.",
                ),
                "solutions": (
                    "Готово: новый номер привязан к аккаунту. Старый номер больше не "
                    "используется для входа.",
                ),
                "resolutions": (
                    "Смена номера телефона|Подтвердили владение, привязали новый номер|"
                    "Номер изменён",
                ),
            },
            {
                "subjects": ("How do I change the phone number on my profile",
                             "New phone number"),
                "problems": (
                    "I have a new phone number and want to link it to my account, but I no "
                    "longer have the old SIM.",
                ),
                "solutions": (
                    "Done: the new number is linked to your account. The old number can no "
                    "longer be used to sign in.",
                ),
                "resolutions": (
                    "Phone number change|Verified ownership, linked the new number|Number "
                    "changed",
                ),
            },
        ),
        case(
            {
                "subjects": ("Не загружается фото профиля", "Не могу поменять аватар"),
                "problems": (
                    "Пытаюсь поставить фото в профиль, загрузка доходит до конца и выдаёт "
                    "ошибку {error}.",
                ),
                "solutions": (
                    "Фото не загружалось из-за формата HEIC. Мы включили автоматическую "
                    "конвертацию — попробуйте загрузить снова.",
                ),
                "resolutions": (
                    "Не загружалось фото профиля|Включили конвертацию HEIC|Фото загружено",
                ),
            },
            {
                "subjects": ("Profile photo won't upload", "Can't change my avatar"),
                "problems": (
                    "I'm trying to set a profile photo; the upload finishes and then shows "
                    "error {error}.",
                ),
                "solutions": (
                    "The photo didn't upload because it was HEIC. We've turned on automatic "
                    "conversion - please try again.",
                ),
                "resolutions": ("Profile photo upload failed|Enabled HEIC conversion|Uploaded",),
            },
        ),
        case(
            {
                "subjects": ("Прошу удалить мой аккаунт", "Удаление персональных данных"),
                "problems": ("Прошу удалить мой аккаунт и все персональные данные.",),
                "solutions": (
                    "Запрос на удаление принят. Аккаунт и данные будут удалены через 30 дней; "
                    "до этого срока удаление можно отменить, просто войдя в аккаунт.",
                ),
                "notes": ("Запрос на удаление данных по 152-ФЗ, зафиксировал{a} дату.",),
                "resolutions": (
                    "Удаление аккаунта|Приняли запрос, удаление через 30 дней|Клиент "
                    "проинформирован",
                ),
            },
            {
                "subjects": ("Please delete my account", "Delete my personal data"),
                "problems": ("Please delete my account and all my personal data.",),
                "solutions": (
                    "Your deletion request is accepted. The account and data will be deleted "
                    "in 30 days; until then you can cancel by simply signing in.",
                ),
                "notes": ("GDPR erasure request, logged the date.",),
                "resolutions": (
                    "Account deletion|Accepted, deletion in 30 days|Customer informed",
                ),
            },
        ),
        case(
            {
                "subjects": ("Изменить адрес почты в аккаунте", "Не сохраняется имя в профиле"),
                "problems": (
                    "Хочу поменять почту в аккаунте, но кнопка «Сохранить» неактивна.",
                    "Меняю имя в профиле, нажимаю «Сохранить», но после перезапуска "
                    "возвращается старое.",
                ),
                "solutions": (
                    "Профиль не сохранялся из-за ошибки синхронизации. Мы исправили её для "
                    "вашего аккаунта — измените данные ещё раз, теперь они сохранятся.",
                ),
                "resolutions": (
                    "Не сохранялись данные профиля|Исправили синхронизацию профиля|Данные "
                    "сохранены",
                ),
            },
            {
                "subjects": ("Change the email on my account", "Profile name doesn't save"),
                "problems": (
                    "I want to change the email on my account, but the Save button is greyed "
                    "out.",
                    "I change my name in the profile and press Save, but after a restart the "
                    "old one is back.",
                ),
                "solutions": (
                    "Your profile wasn't saving because of a sync error. We've fixed it for "
                    "your account - please make the change again, it will stick now.",
                ),
                "resolutions": (
                    "Profile changes not saved|Fixed the profile sync|Changes saved",
                ),
            },
        ),
    ),
)  # fmt: skip

TOPICS: tuple[Topic, ...] = (
    LOGIN, PASSWORD, PAYMENT, LOST_MESSAGES, BUG, FEATURE, HOW_TO, COMPLAINT, PROFILE,
)  # fmt: skip
TOPIC_BY_KEY = {t.key: t for t in TOPICS}
