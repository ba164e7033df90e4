"""Quoted history and signatures in email replies: table-driven, one row per client format."""

from __future__ import annotations

import html as html_lib
import re
from html.parser import HTMLParser
from typing import NamedTuple

import pytest

from opora.channels.email.quotes import Reply, extract_reply, strip_html_reply

# --- plain text: quotes recognized -------------------------------------------------------


class Quoted(NamedTuple):
    body: str
    text: str  # the expected new part
    attribution: str  # the first line of `quoted`
    signature: str = ""


QUOTED = {
    "gmail en, day first": Quoted(
        "Thanks, it works now.\n\n"
        "On Mon, 5 Feb 2024 at 10:12, Ivan Petrov <ivan@example.com> wrote:\n\n"
        "> Hello,\n> the printer on the 3rd floor is broken.\n>\n> Ivan\n",
        "Thanks, it works now.",
        "On Mon, 5 Feb 2024 at 10:12, Ivan Petrov <ivan@example.com> wrote:",
    ),
    "gmail en, month first with AM": Quoted(
        "Yes, please go ahead.\n\n"
        "On Mon, Feb 5, 2024 at 10:12 AM Ivan Petrov <ivan@example.com> wrote:\n\n"
        "> Can we restart the server tonight?\n",
        "Yes, please go ahead.",
        "On Mon, Feb 5, 2024 at 10:12 AM Ivan Petrov <ivan@example.com> wrote:",
    ),
    "gmail en, wrapped before the address": Quoted(
        "Yes, please go ahead.\n\n"
        "On Mon, Feb 5, 2024 at 10:12 AM Support Team of Example Corporation <\n"
        "support@example.com> wrote:\n\n"
        "> Can we restart the server tonight?\n",
        "Yes, please go ahead.",
        "On Mon, Feb 5, 2024 at 10:12 AM Support Team of Example Corporation <",
    ),
    "gmail en, wrapped before wrote": Quoted(
        "Got it, thank you!\n\n"
        "On Mon, 5 Feb 2024 at 10:12, Ivan Petrov from Support <support@example.com>\n"
        "wrote:\n\n"
        "> Your ticket #4521 has been resolved.\n",
        "Got it, thank you!",
        "On Mon, 5 Feb 2024 at 10:12, Ivan Petrov from Support <support@example.com>",
    ),
    "gmail ru": Quoted(
        "Спасибо, всё заработало.\n\n"
        "пн, 5 февр. 2024 г. в 10:12, Иван Петров <ivan@example.com>:\n\n"
        "> Добрый день!\n> Перезагрузите, пожалуйста, роутер.\n",
        "Спасибо, всё заработало.",
        "пн, 5 февр. 2024 г. в 10:12, Иван Петров <ivan@example.com>:",
    ),
    "gmail ru, wrapped": Quoted(
        "Спасибо, всё заработало.\n\n"
        "пн, 5 февр. 2024 г. в 10:12, Служба поддержки ООО «Ромашка» <\n"
        "support@example.com>:\n\n"
        "> Перезагрузите, пожалуйста, роутер.\n",
        "Спасибо, всё заработало.",
        "пн, 5 февр. 2024 г. в 10:12, Служба поддержки ООО «Ромашка» <",
    ),
    "gmail ru, older «пользователь … написал»": Quoted(
        "Проверил, работает.\n\n"
        "5 февраля 2024 г., 10:12 пользователь Иван Петров <ivan@example.com> написал:\n\n"
        "> Попробуйте ещё раз.\n",
        "Проверил, работает.",
        "5 февраля 2024 г., 10:12 пользователь Иван Петров <ivan@example.com> написал:",
    ),
    "outlook en, Original Message": Quoted(
        "Please find the invoice attached.\n\n"
        "-----Original Message-----\n"
        "From: Ivan Petrov <ivan@example.com>\n"
        "Sent: Monday, February 5, 2024 10:12 AM\n"
        "To: Support <support@example.com>\n"
        "Subject: Invoice\n\n"
        "Hello, could you send the invoice for January?\n",
        "Please find the invoice attached.",
        "-----Original Message-----",
    ),
    "outlook en, header block after underscores": Quoted(
        "Please find the invoice attached.\n\n"
        "________________________________\n"
        "From: Ivan Petrov <ivan@example.com>\n"
        "Sent: Monday, February 5, 2024 10:12 AM\n"
        "To: Support <support@example.com>\n"
        "Cc: Anna <anna@example.com>\n"
        "Subject: Invoice\n\n"
        "Hello, could you send the invoice for January?\n",
        "Please find the invoice attached.",
        "________________________________",
    ),
    "outlook en, header block, bold from HTML": Quoted(
        "Done.\n\n"
        "*From:* Ivan Petrov <ivan@example.com>\n"
        "*Sent:* Monday, February 5, 2024 10:12 AM\n"
        "*To:* Support <support@example.com>\n"
        "*Subject:* Access\n\n"
        "Please give me access.\n",
        "Done.",
        "*From:* Ivan Petrov <ivan@example.com>",
    ),
    "outlook ru, Исходное сообщение": Quoted(
        "Счёт во вложении.\n\n"
        "-----Исходное сообщение-----\n"
        "От: Иван Петров <ivan@example.com>\n"
        "Отправлено: 5 февраля 2024 г. 10:12\n"
        "Кому: support@example.com\n"
        "Тема: Счёт\n\n"
        "Пришлите счёт за январь.\n",
        "Счёт во вложении.",
        "-----Исходное сообщение-----",
    ),
    "outlook ru, header block": Quoted(
        "Счёт во вложении.\n\n"
        "________________________________\n"
        "От: Иван Петров <ivan@example.com>\n"
        "Отправлено: понедельник, 5 февраля 2024 г. 10:12\n"
        "Кому: Поддержка <support@example.com>\n"
        "Копия: Анна <anna@example.com>\n"
        "Тема: Счёт\n\n"
        "Пришлите счёт за январь.\n",
        "Счёт во вложении.",
        "________________________________",
    ),
    "outlook for mac ru, header block with Дата": Quoted(
        "Да, подходит.\n\n"
        "От: Иван Петров <ivan@example.com>\n"
        "Дата: понедельник, 5 февраля 2024 г. в 10:12\n"
        "Кому: Поддержка <support@example.com>\n"
        "Тема: Встреча\n\n"
        "Вам удобно в четверг?\n",
        "Да, подходит.",
        "От: Иван Петров <ivan@example.com>",
    ),
    "yandex, name": Quoted(
        "Здравствуйте, пришлите сертификаты.\n\n"
        '05.02.2024, 10:12, "Иван Петров" <ivan@yandex.ru>:\n'
        "> Груз готов к отгрузке.\n",
        "Здравствуйте, пришлите сертификаты.",
        '05.02.2024, 10:12, "Иван Петров" <ivan@yandex.ru>:',
    ),
    "yandex, address as name": Quoted(
        "Принято.\n\n"
        '05.02.2024, 10:12, "ivan@yandex.ru" <ivan@yandex.ru>:\n'
        ">\n> Груз готов к отгрузке.\n>\n> --\n> Иван\n",
        "Принято.",
        '05.02.2024, 10:12, "ivan@yandex.ru" <ivan@yandex.ru>:',
    ),
    "yandex, header lines above the attribution": Quoted(
        "Владимир, здравствуйте.\nПришлите сертификаты.\n\n"
        "----------------\n"
        "Кому: Ирина (irina@example.org);\n"
        "Тема: забор груза;\n"
        '23.07.2026, 03:56, "Владимир" <zakaz@example.org>:\n'
        "> Груз готов к отгрузке.\n",
        "Владимир, здравствуйте.\nПришлите сертификаты.",
        "----------------",
    ),
    "mail.ru": Quoted(
        "Добрый день, счёт во вложении.\n\n"
        "Понедельник, 5 февраля 2024, 10:12 +03:00 от Иван Петров <ivan@mail.ru>:\n"
        ">\n>Просим прислать счёт.\n>\n>С уважением, Иван\n",
        "Добрый день, счёт во вложении.",
        "Понедельник, 5 февраля 2024, 10:12 +03:00 от Иван Петров <ivan@mail.ru>:",
    ),
    "mail.ru, quoted attribution": Quoted(
        "Добрый день, счёт во вложении.\n\n\n"
        ">Понедельник, 5 февраля 2024, 10:12 +03:00 от Иван Петров <ivan@mail.ru>:\n"
        ">\n>Просим прислать счёт.\n",
        "Добрый день, счёт во вложении.",
        ">Понедельник, 5 февраля 2024, 10:12 +03:00 от Иван Петров <ivan@mail.ru>:",
    ),
    "mail.ru, address only": Quoted(
        "Отправили вчера.\n\n"
        "Пятница, 21 сентября 2026, 09:54 +10:00 от zakaz@example.org:\n"
        ">Когда отгрузка?\n",
        "Отправили вчера.",
        "Пятница, 21 сентября 2026, 09:54 +10:00 от zakaz@example.org:",
    ),
    "thunderbird en": Quoted(
        "The link works now.\n\n"
        "On 05.02.2024 10:12, Ivan Petrov wrote:\n"
        "> The link in your last message is broken.\n",
        "The link works now.",
        "On 05.02.2024 10:12, Ivan Petrov wrote:",
    ),
    "thunderbird en, US date": Quoted(
        "The link works now.\n\n"
        "On 2/5/24 10:12 AM, Ivan Petrov wrote:\n"
        "> The link in your last message is broken.\n",
        "The link works now.",
        "On 2/5/24 10:12 AM, Ivan Petrov wrote:",
    ),
    "thunderbird ru": Quoted(
        "Ссылка работает.\n\n"
        "05.02.2024 10:12, Иван Петров пишет:\n"
        "> Ссылка в письме не открывается.\n",
        "Ссылка работает.",
        "05.02.2024 10:12, Иван Петров пишет:",
    ),
    "thunderbird ru, no date": Quoted(
        "Согласовано.\n\nИван Петров пишет:\n> Можно ли отгрузить в пятницу?\n",
        "Согласовано.",
        "Иван Петров пишет:",
    ),
    "apple mail en": Quoted(
        "Works for me.\n\n"
        "On 5 Feb 2024, at 10:12, Ivan Petrov <ivan@example.com> wrote:\n\n"
        "> Shall we meet on Thursday?\n",
        "Works for me.",
        "On 5 Feb 2024, at 10:12, Ivan Petrov <ivan@example.com> wrote:",
    ),
    "apple mail ru": Quoted(
        "Хорошо, договорились.\n\n"
        "5 февр. 2024 г., в 10:12, Иван Петров <ivan@example.com> написал(а):\n\n"
        "> Подтвердите заказ.\n",
        "Хорошо, договорились.",
        "5 февр. 2024 г., в 10:12, Иван Петров <ivan@example.com> написал(а):",
    ),
    "ios mail en: attribution inside the quote, signature above it": Quoted(
        "Thanks!\n\nSent from my iPhone\n\n"
        "> On 5 Feb 2024, at 10:12, Ivan Petrov <ivan@example.com> wrote:\n>\n"
        "> Your order has shipped.\n",
        "Thanks!",
        "> On 5 Feb 2024, at 10:12, Ivan Petrov <ivan@example.com> wrote:",
        "Sent from my iPhone",
    ),
    "ios mail ru: attribution inside the quote, signature above it": Quoted(
        "Спасибо!\n\nОтправлено с iPhone\n\n"
        "> 5 февр. 2024 г., в 10:12, Иван Петров <ivan@example.com> написал(а):\n>\n"
        "> Заказ отправлен.\n",
        "Спасибо!",
        "> 5 февр. 2024 г., в 10:12, Иван Петров <ivan@example.com> написал(а):",
        "Отправлено с iPhone",
    ),
    "generic: quoted lines at the end without an attribution": Quoted(
        "Ok, thanks.\n\n> Please restart the router\n> and try again.\n",
        "Ok, thanks.",
        "> Please restart the router",
    ),
    "generic: a loose attribution right above the quoted lines": Quoted(
        "Done.\n\nThe support team wrote at noon:\n> Please restart the router\n",
        "Done.",
        "The support team wrote at noon:",
    ),
    "nested thread: the first attribution wins": Quoted(
        "Third answer.\n\n"
        "On Wed, 7 Feb 2024 at 09:00, Support <support@example.com> wrote:\n"
        "> Second answer.\n>\n"
        "> On Tue, 6 Feb 2024 at 10:12, Ivan Petrov <ivan@example.com> wrote:\n"
        ">> First question.\n",
        "Third answer.",
        "On Wed, 7 Feb 2024 at 09:00, Support <support@example.com> wrote:",
    ),
    "outlook reply to a gmail thread": Quoted(
        "Approved.\n\n"
        "From: Ivan Petrov <ivan@example.com>\n"
        "Sent: Monday, February 5, 2024 10:12 AM\n"
        "To: Support <support@example.com>\n"
        "Subject: RE: Access\n\n"
        "Please approve.\n\n"
        "On Mon, 5 Feb 2024 at 09:00, Support <support@example.com> wrote:\n"
        "> Who approves?\n",
        "Approved.",
        "From: Ivan Petrov <ivan@example.com>",
    ),
    "a reply quoting a forwarded message": Quoted(
        "Thanks, we will check it.\n\n"
        "On Mon, 5 Feb 2024 at 10:12, Ivan Petrov <ivan@example.com> wrote:\n"
        "> ---------- Forwarded message ---------\n"
        "> From: Bank <noreply@bank.example>\n>\n> Your payment failed.\n",
        "Thanks, we will check it.",
        "On Mon, 5 Feb 2024 at 10:12, Ivan Petrov <ivan@example.com> wrote:",
    ),
    "bottom-posted under an attribution": Quoted(
        "On Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:\n"
        "> Could you send the logs?\n\n"
        "Attached, see the archive.\nThe error appears at startup.\n",
        "Attached, see the archive.\nThe error appears at startup.",
        "On Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:",
    ),
    "bottom-posted under bare quoted lines": Quoted(
        "> old text\n\nmy new text",
        "my new text",
        "> old text",
    ),
    "bottom-posted under a quoted attribution, with a signature": Quoted(
        "> 05.02.2024 10:12, Поддержка пишет:\n> Пришлите логи.\n\n"
        "Логи во вложении.\n\n-- \nИван\n",
        "Логи во вложении.",
        "> 05.02.2024 10:12, Поддержка пишет:",
        "-- \nИван",
    ),
    "greeting above the quote, answer below it": Quoted(
        "Hi,\n\nOn Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:\n"
        "> Could you send the logs?\n\nAttached.\n",
        "Hi,\n\nAttached.",
        "On Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:",
    ),
    "signature between the answer and the quote": Quoted(
        "Please call me back.\n\n-- \nIvan Petrov\nACME LLC, +7 900 000-00-00\n\n"
        "On Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:\n"
        "> How can we help?\n",
        "Please call me back.",
        "On Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:",
        "-- \nIvan Petrov\nACME LLC, +7 900 000-00-00",
    ),
    "thunderbird: signature below the quote": Quoted(
        "The price is fine.\n\n05.02.2024 10:12, Иван Петров пишет:\n> Цена устраивает?\n\n"
        "-- \nИван, менеджер\n",
        "The price is fine.",
        "05.02.2024 10:12, Иван Петров пишет:",
        "-- \nИван, менеджер",
    ),
    "yandex mobile: signature after the delimiter": Quoted(
        "Буду в 10.\n\n-- \nОтправлено из мобильного приложения Яндекс.Почты\n\n"
        '05.02.2024, 10:12, "Иван Петров" <ivan@yandex.ru>:\n> Когда подъедете?\n',
        "Буду в 10.",
        '05.02.2024, 10:12, "Иван Петров" <ivan@yandex.ru>:',
        "-- \nОтправлено из мобильного приложения Яндекс.Почты",
    ),
    "gmail en, wrapped inside the name": Quoted(
        "OK\n\nOn Mon, Feb 5, 2024 at 10:12 AM Ivan Petrov from the Support\n"
        "Team <support@example.com> wrote:\n> Shall we close the ticket?\n",
        "OK",
        "On Mon, Feb 5, 2024 at 10:12 AM Ivan Petrov from the Support",
    ),
    "a short text line right above the attribution stays": Quoted(
        "We met on Monday.\nOn 5 Feb 2024, at 10:12, Ivan <ivan@example.com> wrote:\n> Hi\n",
        "We met on Monday.",
        "On 5 Feb 2024, at 10:12, Ivan <ivan@example.com> wrote:",
    ),
    "a short line starting with a digit above the attribution stays": Quoted(
        "Thanks.\n2 printers are still broken.\nIvan Petrov <ivan@example.com> wrote:\n> Fixed?\n",
        "Thanks.\n2 printers are still broken.",
        "Ivan Petrov <ivan@example.com> wrote:",
    ),
    "a long line starting with On right above the attribution stays": Quoted(
        "Thanks!\nOn Monday the printer worked again, thank you.\n"
        "On 5 Feb 2024, at 10:12, Ivan <ivan@example.com> wrote:\n> Hi\n",
        "Thanks!\nOn Monday the printer worked again, thank you.",
        "On 5 Feb 2024, at 10:12, Ivan <ivan@example.com> wrote:",
    ),
    "outlook mobile: signature above the header block": Quoted(
        "Sure.\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n"
        "________________________________\n"
        "From: Ivan Petrov <ivan@example.com>\n"
        "Sent: Monday, February 5, 2024 10:12:00 AM\n"
        "To: Support <support@example.com>\n"
        "Subject: Re: Access\n\nPlease approve.\n",
        "Sure.",
        "________________________________",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
    ),
    "mail.ru: address only, quoted signature inside the quote": Quoted(
        "Спасибо\n\n\nВторник, 6 февраля 2024, 9:05 +03:00 от support@example.com:\n"
        ">\n>\n>Здравствуйте!\n>\n>--\n>Поддержка\n",
        "Спасибо",
        "Вторник, 6 февраля 2024, 9:05 +03:00 от support@example.com:",
    ),
    "windows line ends": Quoted(
        "Ok\r\n\r\nOn Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:\r\n"
        "> Done?\r\n",
        "Ok",
        "On Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:",
    ),
}


# --- plain text: signatures ---------------------------------------------------------------


class Signed(NamedTuple):
    body: str
    text: str
    signature: str


SIGNED = {
    "delimiter with a space": Signed(
        "Please call me.\n\n-- \nIvan Petrov\n+7 900 000-00-00",
        "Please call me.",
        "-- \nIvan Petrov\n+7 900 000-00-00",
    ),
    "delimiter with a no-break space (from HTML)": Signed(
        "Please call me.\n--\xa0\nIvan Petrov", "Please call me.", "--\xa0\nIvan Petrov"
    ),
    "bare -- before a short block": Signed(
        "Перезвоните мне.\n--\nИван Петров\nменеджер\n+7 900 000-00-00",
        "Перезвоните мне.",
        "--\nИван Петров\nменеджер\n+7 900 000-00-00",
    ),
    "long block after -- and a space is still a signature": Signed(
        "Ok.\n-- \n" + "\n".join(f"line {n}" for n in range(12)),
        "Ok.",
        "-- \n" + "\n".join(f"line {n}" for n in range(12)),
    ),
}
MOBILE = [
    "Sent from my iPhone",
    "Sent from my iPad",
    "Sent from my Samsung Galaxy smartphone.",
    "Sent from Mail for Windows",
    "Sent from Mail for Windows 10",
    "Get Outlook for iOS",
    "Get Outlook for Android<https://aka.ms/ghei36>",
    "Sent from Yahoo Mail on Android",
    "Sent from Yandex Mail",
    "Sent from Yandex.Mail for mobile",
    "Sent with Proton Mail secure email.",
    "Отправлено с iPhone",
    "Отправлено с моего iPhone",
    "Отправлено с мобильного",
    "Отправлено с мобильного телефона",
    "Отправлено из мобильной Почты Mail.ru",
    "Отправлено из Яндекс.Почты",
    "Отправлено из мобильного приложения Яндекс.Почты",
    "Отправлено из Яндекс Почты для Android",
    "Отправлено из приложения Почта для Windows",
    "Получить Outlook для Android",
]
SIGNED.update(
    {
        f"mobile: {line}": Signed(f"Да, подходит.\n\n{line}\n", "Да, подходит.", line)
        for line in MOBILE
    }
)


# --- plain text: kept whole ---------------------------------------------------------------

KEPT = {
    "no quote, no signature": "Hello,\n\nmy printer does not work.\n\nIvan",
    "best regards is the customer's sign-off": "Thanks!\n\nBest regards,\nIvan Petrov",
    "с уважением is the customer's sign-off": "Спасибо!\n\nС уважением,\nИван Петров",
    "inline replies under an attribution": (
        "On Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:\n"
        "> Which model is it?\nHP LaserJet 1020.\n\n> Since when?\nSince Monday."
    ),
    "inline replies under a quoted attribution": (
        "> On Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:\n"
        "> Which model is it?\nHP LaserJet 1020.\n"
        "> On Sun, 4 Feb 2024 at 09:00, Ivan <ivan@example.com> wrote:\n"
        ">> It does not print.\nStill does not."
    ),
    "inline replies under a greeting": (
        "Hi,\n\n> Which model is it?\nHP LaserJet 1020.\n> Since when?\nSince Monday.\n"
        "> Anything else?"
    ),
    "inline replies starting with a quote": (
        "> Which model is it?\n\nHP LaserJet 1020.\n\n> Since when?\n\nSince Monday."
    ),
    "gmail forward en": (
        "Please look at this.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Bank <noreply@bank.example>\n"
        "Date: Mon, 5 Feb 2024 at 10:12\n"
        "Subject: Payment failed\n"
        "To: <ivan@example.com>\n\n"
        "Your payment failed.\n\n"
        "On Sun, 4 Feb 2024 at 09:00, Shop <shop@example.com> wrote:\n"
        "> Your order is ready.\n"
    ),
    "gmail forward ru": (
        "Посмотрите, пожалуйста.\n\n"
        "---------- Пересылаемое сообщение ---------\n"
        "От: Банк <noreply@bank.example>\n"
        "Date: пн, 5 февр. 2024 г. в 10:12\n"
        "Subject: Платёж не прошёл\n\n"
        "Ваш платёж не прошёл.\n"
    ),
    "thunderbird forward": (
        "FYI\n\n-------- Forwarded Message --------\n"
        "Subject: \tPayment failed\nDate: \tMon, 5 Feb 2024 10:12:00 +0300\n"
        "From: \tBank <noreply@bank.example>\n\nYour payment failed.\n"
    ),
    "mail.ru forward with quoted lines and a mobile signature": (
        "Отправлено из мобильной Почты Mail.ru\n\n"
        "-------- Пересылаемое сообщение --------\n"
        "От: Чек <echeck@1-ofd.example>\nКому: <buyer@example.com>\n"
        "Дата: суббота, 15 августа 2026 г. в 10:13 +03:00\nТема: Чек\n\n"
        "> Получить кэшбэк за этот чек\n> Сумма: 1 500 ₽\n"
    ),
    "apple forward": (
        "See below.\n\nSent from my iPhone\n\nBegin forwarded message:\n\n"
        "> From: Bank <noreply@bank.example>\n> Subject: Payment failed\n"
        "> Date: 5 February 2024 at 10:12:00 GMT+3\n>\n> Your payment failed.\n"
    ),
    "apple forward ru": (
        "Смотрите ниже.\n\nНачало переадресованного сообщения:\n\n"
        "> От: Банк <noreply@bank.example>\n> Тема: Платёж\n>\n> Платёж не прошёл.\n"
    ),
    "a signature before a forward is kept": (
        "FYI\n\n-- \nIvan\n\n---------- Forwarded message ---------\nFrom: a@example.com\n\nBody"
    ),
    "a legit line starting with > in the middle": (
        "The allowed range is\n> 5 and < 10\nfor this field. Please check.\nThanks"
    ),
    "a single quoted-looking line at the end": "The threshold must be\n> 5",
    "shell redirect in code": (
        "I ran this:\n\n    cat app.log > /tmp/out.txt\n    grep ERROR /tmp/out.txt\n\n"
        "and got nothing."
    ),
    "an attribution-like sentence not followed by a quote": (
        "On Mon, 5 Feb 2024 at 10:12, the printer wrote:\nERROR 42\nWhat does it mean?"
    ),
    "header-like lines without a date": (
        "Delivery question.\n\nFrom: Moscow\nTo: Kazan\nCc: Anna\n\n"
        "What is the delivery date: Monday?"
    ),
    "a mobile signature line in the middle": "Sent from my iPhone\nand then the app crashed.",
    "bare -- before a long block": "Text\n--\n" + "\n".join(f"row {n}" for n in range(10)),
    "a date line above indented text": (
        "Прошу рассчитать по КМД от 12.09.2026:\n    ограждение 12 м;\n    калитка 1 шт.\nСпасибо"
    ),
}


ONLY_QUOTE = {
    "attribution and quote": (
        "On Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:\n> Done?\n"
    ),
    "quoted lines": "> a\n> b\n",
    "outlook header block": (
        "-----Original Message-----\nFrom: Support <support@example.com>\n"
        "Sent: Monday, February 5, 2024 10:12 AM\nTo: Ivan\nSubject: Done?\n\nDone?\n"
    ),
    "signature and quote": (
        "Sent from my iPhone\n\n"
        "On 5 Feb 2024, at 10:12, Support <support@example.com> wrote:\n> Done?\n"
    ),
    "only a signature": "-- \nIvan Petrov",
    "only a mobile signature": "Sent from my iPhone",
}


PATHOLOGICAL = {
    "one long line": ("On " + "1 " * 100_000 + "wrote:", None),
    "one long ru line above a single quoted line": ("пн, " + "5 " * 100_000 + ":\n> x", None),
    "many bare dashes": (
        "Text\n" + "--\n" * 60_000 + "Ivan",
        Reply("Text\n" + "--\n" * 59_993 + "--", "", "--\n" * 6 + "Ivan"),
    ),
    "many header-like lines": (("On Mon, 5 Feb 2024 at 10:12, someone:\n" * 5_000) + "> x", None),
    "one long quoted line": (">" * 200_000, None),
    "a long line ending with a colon": (
        "a" * 200_000 + ":\n> q\n> q",
        Reply("a" * 200_000 + ":", "> q\n> q", ""),
    ),
}


# --- HTML ---------------------------------------------------------------------------------


def visible(markup: str) -> str:
    """The text a reader sees, roughly: tags, comments and styles dropped."""
    markup = re.sub(r"(?is)<(style|script|head)\b.*?</\1>|<!--.*?-->", " ", markup)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]*>", " ", markup)).split())


VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base"})


class _Balance(HTMLParser):
    """Checks that every start tag is closed, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ok = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.ok = False


def balanced(markup: str) -> bool:
    parser = _Balance()
    parser.feed(markup)
    parser.close()
    return parser.ok and not parser.stack


class Html(NamedTuple):
    body: str
    kept: tuple[str, ...]  # visible text that must stay
    gone: tuple[str, ...]  # visible text that must go


GMAIL_EN = (
    '<div dir="ltr">Thanks, it works now.</div><br>'
    '<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">'
    "On Mon, 5 Feb 2024 at 10:12, Ivan Petrov &lt;"
    '<a href="mailto:ivan@example.com">ivan@example.com</a>&gt; wrote:<br></div>'
    '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid '
    'rgb(204,204,204);padding-left:1ex"><div dir="ltr">The printer is broken.</div>'
    "</blockquote></div>"
)
OUTLOOK_DESKTOP = (
    '<html><head><style>p.MsoNormal{margin:0cm}</style></head><body lang="EN-US">'
    '<div class="WordSection1"><p class="MsoNormal">Please find the invoice attached.<o:p></o:p>'
    '</p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
    "<div><div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>"
    '<p class="MsoNormal"><b>From:</b> Ivan Petrov &lt;ivan@example.com&gt;<br>'
    "<b>Sent:</b> Monday, February 5, 2024 10:12 AM<br><b>To:</b> Support<br>"
    "<b>Subject:</b> Invoice<o:p></o:p></p></div></div>"
    '<p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
    '<p class="MsoNormal">Could you send the invoice for January?<o:p></o:p></p>'
    "</div></body></html>"
)
MAILRU_QUOTE = (
    '<div class="mail-quote-collapse"><blockquote style="border-left:1px solid #0857A6;'
    'margin:10px;padding:0 0 0 10px"><span>Понедельник, 5 февраля 2024, 10:12 +03:00 от '
    "Иван Петров &lt;ivan@mail.ru&gt;:</span><br>"
    "<div>Просим прислать прайс на лист 4 мм.</div></blockquote></div>"
)

HTML_CASES = {
    "gmail en": Html(
        GMAIL_EN,
        ("Thanks, it works now.",),
        ("The printer is broken.", "wrote:"),
    ),
    "gmail ru, older gmail_extra": Html(
        '<div dir="ltr">Спасибо!</div><div class="gmail_extra"><br>'
        '<div class="gmail_quote">пн, 5 февр. 2024 г. в 10:12, Иван Петров &lt;'
        '<a href="mailto:ivan@example.com">ivan@example.com</a>&gt;:<br>'
        '<blockquote class="gmail_quote">Перезагрузите роутер.</blockquote></div></div>',
        ("Спасибо!",),
        ("Перезагрузите роутер.", "пн, 5 февр."),
    ),
    "apple mail: attribution inside blockquote type=cite": Html(
        '<html><body dir="auto"><div dir="ltr">Хорошо, договорились.</div><div dir="ltr"><br>'
        '<blockquote type="cite">5 февр. 2024 г., в 10:12, Иван Петров '
        "&lt;ivan@example.com&gt; написал(а):<br><br></blockquote></div>"
        '<blockquote type="cite"><div dir="ltr">Подтвердите заказ.</div></blockquote>'
        "</body></html>",
        ("Хорошо, договорились.",),
        ("Подтвердите заказ.", "написал(а)"),
    ),
    "apple mail macOS: attribution div before blockquote type=cite": Html(
        "<html><body><div>Works for me.</div><div><br><div>On 5 Feb 2024, at 10:12, Ivan "
        'Petrov &lt;ivan@example.com&gt; wrote:</div><br class="Apple-interchange-newline">'
        '<blockquote type="cite"><div>Shall we meet on Thursday?</div></blockquote></div>'
        "</body></html>",
        ("Works for me.",),
        ("Shall we meet on Thursday?", "wrote:"),
    ),
    "thunderbird: moz-cite-prefix, signature after the quote stays": Html(
        "<html><body><p>Прайс во вложении.</p>"
        '<div class="moz-cite-prefix">21.09.2026 20:11, <a class="moz-txt-link-abbreviated" '
        'href="mailto:zakaz@example.org">zakaz@example.org</a> пишет:<br></div>'
        '<blockquote type="cite" cite="mid:x@example.org"><p>Просим прислать прайс.</p>'
        "</blockquote>"
        '<pre class="moz-signature" cols="72">-- \nИван, менеджер</pre></body></html>',
        ("Прайс во вложении.", "Иван, менеджер"),
        ("Просим прислать прайс.", "пишет:"),
    ),
    "thunderbird en": Html(
        "<p>The link works now.</p>"
        '<div class="moz-cite-prefix">On 2/5/24 10:12 AM, Ivan Petrov wrote:<br></div>'
        '<blockquote type="cite">The link is broken.</blockquote>',
        ("The link works now.",),
        ("The link is broken.", "wrote:"),
    ),
    "outlook web: appendonsend and everything after it": Html(
        '<html><body><div dir="ltr">Approved.</div><div id="appendonsend"></div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> Ivan<br>'
        "<b>Sent:</b> Monday, February 5, 2024 10:12<br><b>Subject:</b> Access</font></div>"
        "<div>Please approve my access.</div></body></html>",
        ("Approved.",),
        ("Please approve my access.", "From:"),
    ),
    "outlook web: divRplyFwdMsg after an hr": Html(
        '<div dir="ltr">Счёт во вложении.</div>'
        '<hr style="display:inline-block;width:98%" tabindex="-1">'
        '<div id="divRplyFwdMsg" dir="ltr"><b>От:</b> Иван<br><b>Отправлено:</b> 5 февраля '
        "2024 г. 10:12<br><b>Тема:</b> Счёт</div><div>Пришлите счёт.</div>",
        ("Счёт во вложении.",),
        ("Пришлите счёт.", "От:"),
    ),
    "outlook web: x_-prefixed ids": Html(
        '<div>Approved.</div><div id="x_appendonsend"></div><div>Old text.</div>',
        ("Approved.",),
        ("Old text.",),
    ),
    "outlook.com: hr stopSpelling": Html(
        '<html><body class="hmmessage"><div dir="ltr">Done.<br><br>'
        '<div><hr id="stopSpelling">Date: Mon, 5 Feb 2024 10:12:00 +0300<br>'
        "From: ivan@example.com<br>Subject: Question<br><br>Is it done?</div></div>"
        "</body></html>",
        ("Done.",),
        ("Is it done?", "Date:"),
    ),
    "outlook desktop en": Html(
        OUTLOOK_DESKTOP,
        ("Please find the invoice attached.",),
        ("Could you send the invoice for January?", "From:"),
    ),
    "outlook desktop ru, header without a wrapper": Html(
        '<div class="WordSection1"><p class="MsoNormal">Спасибо, ждём расчёт.</p>'
        '<div style="border:none;border-top:solid #B5C4DF 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        '<p class="MsoNormal"><b>От:</b> Иван &lt;ivan@example.org&gt;<br>'
        "<b>Отправлено:</b> 25 сентября 2026 г. 11:21<br><b>Кому:</b> zakaz@example.org<br>"
        '<b>Тема:</b> Запрос</p></div><p class="MsoNormal">Исходный текст запроса.</p></div>',
        ("Спасибо, ждём расчёт.",),
        ("Исходный текст запроса.", "Отправлено:"),
    ),
    "outlook: Original Message in its own div": Html(
        "<div>Ответ на ваш вопрос: да.</div>"
        "<div>-----Original Message-----<br>From: Иван &lt;ivan@example.org&gt;<br>"
        "Sent: Monday, September 21, 2026<br>Subject: Вопрос<br><br>Будет ли скидка?</div>",
        ("Ответ на ваш вопрос: да.",),
        ("Будет ли скидка?", "Original Message"),
    ),
    "outlook: Исходное сообщение after a br": Html(
        "<div>Ответ: да.<br>-----Исходное сообщение-----<br>От: Иван<br>Будет ли скидка?</div>",
        ("Ответ: да.",),
        ("Будет ли скидка?", "Исходное сообщение"),
    ),
    "yandex: attribution div and a bare blockquote": Html(
        "<div>Здравствуйте, пришлите сертификаты.</div><div> </div>"
        '<div>05.02.2024, 10:12, "Иван Петров" &lt;ivan@yandex.ru&gt;:</div>'
        "<blockquote><div>Груз готов к отгрузке.</div></blockquote>",
        ("Здравствуйте, пришлите сертификаты.",),
        ("Груз готов к отгрузке.", "05.02.2024"),
    ),
    "yandex: header lines above the attribution": Html(
        "<div>Владимир, здравствуйте.</div><div>Пришлите сертификаты.</div><div> </div>"
        "<div>----------------</div><div>Кому: Ирина (irina@example.org);</div>"
        "<div>Тема: забор груза;</div>"
        '<div>23.07.2026, 03:56, "Владимир" &lt;zakaz@example.org&gt;:</div>'
        "<blockquote><div>Груз готов к отгрузке.</div></blockquote>",
        ("Владимир, здравствуйте.", "Пришлите сертификаты."),
        ("Груз готов к отгрузке.", "Кому:", "Тема:", "----------------"),
    ),
    "mail.ru web: mail-quote-collapse, signature after it stays": Html(
        '<div class="cl-9in"><div>Добрый день, счёт во вложении.</div><br>'
        + MAILRU_QUOTE
        + "<br><div>С уважением, Иван<br>тел. +7 900 000-00-00</div></div>",
        ("Добрый день, счёт во вложении.", "С уважением, Иван"),
        ("Просим прислать прайс", "Понедельник"),
    ),
    "mail.ru web: class with _mr_css_attr": Html(
        "<div>Ответ ниже.</div>"
        + MAILRU_QUOTE.replace("mail-quote-collapse", "mail-quote-collapse_mr_css_attr"),
        ("Ответ ниже.",),
        ("Просим прислать прайс",),
    ),
    "mail.ru: blockquote with a class after the attribution": Html(
        "<div>Отправили вчера.</div><div>Понедельник, 5 февраля 2024, 10:12 +03:00 от "
        "Иван Петров &lt;ivan@mail.ru&gt;:<br></div>"
        '<blockquote class="mailru-blockquote" style="border-left:1px solid #0857A6">'
        "<div>Когда отгрузка?</div></blockquote>",
        ("Отправили вчера.",),
        ("Когда отгрузка?", "Понедельник"),
    ),
    "mail.ru app: attribution as bare text": Html(
        '<div id="composeWebView_editable_content"><div>Спасибо, получили.</div>'
        "<br><br>Среда, 23 сентября 2026, 10:00 +10:00 от Иван &lt;ivan@example.org&gt;:<br>"
        '<div id="composeWebView_previouse_content"><blockquote id="mail-app-auto-quote">'
        "<div>Когда отгрузка?</div></blockquote></div></div>",
        ("Спасибо, получили.",),
        ("Когда отгрузка?", "Среда"),
    ),
    "yahoo": Html(
        '<html><body><div class="ydp1"><div>Sounds good.</div></div>'
        '<div id="ydp2yahoo_quoted_123" class="ydp2yahoo_quoted"><div>On Monday, February 5, '
        "2024, 10:12 AM, Ivan &lt;ivan@example.com&gt; wrote:</div><div>Meet at 5?</div></div>"
        "</body></html>",
        ("Sounds good.",),
        ("Meet at 5?", "wrote:"),
    ),
    "bare text attribution before a bare blockquote": Html(
        "<div>Принято.<br><br>Пн, 21.09.2026, 10:00, Иван &lt;ivan@example.org&gt;:<br>"
        "<blockquote>Отправили вчера.</blockquote></div>",
        ("Принято.",),
        ("Отправили вчера.", "Пн, 21.09.2026"),
    ),
    "new outlook: mail-editor-reference-message-container": Html(
        '<div>Approved.</div><div id="mail-editor-reference-message-container">'
        "<div><b>From:</b> Ivan</div><div>Please approve.</div></div>",
        ("Approved.",),
        ("Please approve.", "From:"),
    ),
    "proton mail": Html(
        '<div>Thanks</div><div class="protonmail_quote">On Monday, February 5th, 2024 at '
        '10:12, Ivan &lt;ivan@example.com&gt; wrote:<br><blockquote class="protonmail_quote">'
        "Old text</blockquote></div>",
        ("Thanks",),
        ("Old text", "wrote:"),
    ),
    "bottom-posted under a gmail quote": Html(
        '<div class="gmail_quote"><div class="gmail_attr">On Mon, 5 Feb 2024 at 10:12, '
        'Support &lt;support@example.com&gt; wrote:</div><blockquote class="gmail_quote">'
        "Send the logs.</blockquote></div><div>Logs attached.</div>",
        ("Logs attached.",),
        ("Send the logs.", "wrote:"),
    ),
}


HTML_KEPT = {
    "gmail forward": (
        '<div dir="ltr">Для информации.</div><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>'
        "От: Иван &lt;ivan@example.org&gt;<br>Date: пн, 21 сент. 2026 г.<br></div><br>"
        "<div>Текст заявки.</div></div>"
    ),
    "gmail forward of a thread with quotes inside": (
        '<div dir="ltr">FYI</div><div class="gmail_quote"><div class="gmail_attr">'
        "---------- Forwarded message ---------<br>From: Bank<br></div>"
        '<div>Payment failed.</div><blockquote type="cite">Older text</blockquote></div>'
    ),
    "mail.ru app forward": (
        '<div id="composeWebView_editable_content"><div><br></div>'
        '<div id="mail-app-auto-signature">Отправлено из мобильной Почты Mail.ru</div>'
        "<br><br>-------- Пересылаемое сообщение --------<br>От: Иван &lt;ivan@example.org&gt;"
        "<br>Кому: zakaz@example.org<br>Тема: RE: ммк<br><br>"
        '<div id="composeWebView_previouse_content"><blockquote id="mail-app-auto-quote">'
        "<div>Счёт во вложении.</div></blockquote></div></div>"
    ),
    "apple forward": (
        "<div>See below.</div><div><br><div>Begin forwarded message:</div><br>"
        '<blockquote type="cite"><div><b>From:</b> Bank</div><div>Payment failed.</div>'
        "</blockquote></div>"
    ),
    "inline replies between cite quotes": (
        '<div class="moz-cite-prefix">21.09.2026 20:11, Иван пишет:<br></div>'
        '<blockquote type="cite">Сколько стоит?</blockquote><p>100 рублей.</p>'
        '<blockquote type="cite">Когда отгрузка?</blockquote><p>Завтра.</p>'
    ),
    "a bare blockquote is an indent": (
        "<p>Прошу изготовить:</p><blockquote>ограждение 12 м;<br>калитка 1 шт.</blockquote>"
        "<p>Спасибо.</p>"
    ),
    "an indent after a line with a date": (
        "<div>Добрый день!</div><div>Прошу рассчитать по КМД от 12.09.2026:</div>"
        "<blockquote>ограждение 12 м;<br>калитка 1 шт.</blockquote><div>Спасибо, Иван</div>"
    ),
    "an indent after a line with an address": (
        "<div>Документы присылайте на docs@example.org:</div>"
        "<blockquote>счёт, УПД, сертификаты</blockquote><div>Спасибо</div>"
    ),
    "forward inside a pre": (
        "<pre>FYI\n\n---------- Forwarded message ---------\nFrom: Bank</pre>"
        '<blockquote type="cite">Payment failed.</blockquote>'
    ),
    "only a quote": MAILRU_QUOTE,
    "only a gmail quote": GMAIL_EN[GMAIL_EN.index("<div class=") :],
    "no quote": "<div>Добрый день!</div><div>Прошу КП на навес 6×12 м.</div>",
    "empty": "",
    "whitespace": "  \n ",
}


BROKEN_HTML = [
    "<",
    "<div",
    "</div></blockquote></p>",
    "<div><blockquote type=cite>unclosed quote",
    '<div>New</div><div class="gmail_quote">On Mon, 5 Feb 2024 wrote:<blockquote>old',
    "<![if !supportLists]>x<![endif]><div>New</div><blockquote type=cite>old",
    "<!-- unclosed comment <div>New</div>",
    '<a href="x>text</a><blockquote type="cite">',
    "<div><p>New<blockquote type=cite><p>old</div></p></blockquote>",
    "<<>><</>>&&&#;&#xZZ;<div id=appendonsend",
    "<script>var a = '<blockquote type=cite>';</script><div>x</div>",
    "<div>" * 5_000 + "New" + '<blockquote type="cite">old</blockquote>',
    "\x00<div>\x00</div>",
]


class TestExtractReply:
    @pytest.mark.parametrize("case", QUOTED.values(), ids=QUOTED.keys())
    def test_quoted_history_is_cut(self, case: Quoted) -> None:
        reply = extract_reply(case.body)
        assert reply.text == case.text
        assert reply.quoted.startswith(case.attribution)
        assert reply.quoted.split("\n")[0] == case.attribution
        assert reply.signature == case.signature

    def test_quoted_holds_the_whole_history(self) -> None:
        body = QUOTED["outlook en, Original Message"].body
        assert extract_reply(body).quoted == (
            "-----Original Message-----\n"
            "From: Ivan Petrov <ivan@example.com>\n"
            "Sent: Monday, February 5, 2024 10:12 AM\n"
            "To: Support <support@example.com>\n"
            "Subject: Invoice\n\n"
            "Hello, could you send the invoice for January?"
        )

    @pytest.mark.parametrize("case", SIGNED.values(), ids=SIGNED.keys())
    def test_signature_is_cut(self, case: Signed) -> None:
        assert extract_reply(case.body) == Reply(
            text=case.text, quoted="", signature=case.signature
        )

    @pytest.mark.parametrize("body", KEPT.values(), ids=KEPT.keys())
    def test_replies_without_history_or_forwards_are_kept_whole(self, body: str) -> None:
        assert extract_reply(body) == Reply(text=body.rstrip("\n"), quoted="", signature="")

    @pytest.mark.parametrize("body", ONLY_QUOTE.values(), ids=ONLY_QUOTE.keys())
    def test_nothing_meaningful_left_keeps_the_whole_body(self, body: str) -> None:
        assert extract_reply(body) == Reply(text=body.strip("\n"), quoted="", signature="")

    @pytest.mark.parametrize(
        ("body", "text"),
        [
            ("", ""),
            ("\n\n  \n", ""),
            ("\ufeffHello\r\n\r\n\r\n", "Hello"),
            ("\n\nHello\n  world\n\n", "Hello\n  world"),
        ],
        ids=["empty", "blank lines", "bom and crlf", "blank lines around"],
    )
    def test_the_whole_body_is_normalized(self, body: str, text: str) -> None:
        assert extract_reply(body) == Reply(text=text, quoted="", signature="")

    def test_inline_replies_still_lose_a_trailing_signature(self) -> None:
        body = "> Which model?\nHP 1020.\n> Since when?\nMonday.\n\n-- \nIvan"
        assert extract_reply(body) == Reply(
            text="> Which model?\nHP 1020.\n> Since when?\nMonday.",
            quoted="",
            signature="-- \nIvan",
        )

    def test_a_long_quoted_thread_is_cut_in_one_pass(self) -> None:
        thread = ["On Mon, 5 Feb 2024 at 10:12, Support <support@example.com> wrote:"]
        for n in range(3_200):
            depth = ">" * (n % 5 + 1)
            thread.append(f"{depth} line {n}: the printer on the third floor still does not work")
            if n % 40 == 0:
                thread.append(f"{depth} On 5 Feb 2024, at 10:12, Ivan <ivan{n}@example.com> wrote:")
        body = "Thanks, fixed.\n\n" + "\n".join(thread) + "\n"
        assert len(body) > 200_000
        reply = extract_reply(body)
        assert reply.text == "Thanks, fixed."
        assert len(reply.quoted) > 195_000
        assert reply.quoted.endswith(
            "line 3199: the printer on the third floor still does not work"
        )

    @pytest.mark.parametrize(("body", "expected"), PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
    def test_pathological_bodies_are_processed(self, body: str, expected: Reply | None) -> None:
        assert extract_reply(body) == (expected or Reply(text=body, quoted="", signature=""))


class TestStripHtmlReply:
    @pytest.mark.parametrize("case", HTML_CASES.values(), ids=HTML_CASES.keys())
    def test_quote_containers_are_removed(self, case: Html) -> None:
        out = strip_html_reply(case.body)
        text = visible(out)
        assert out != case.body
        for kept in case.kept:
            assert kept in text
        for gone in case.gone:
            assert gone not in text
        assert balanced(out) == balanced(case.body)

    @pytest.mark.parametrize(
        ("body", "out"),
        [
            (GMAIL_EN, '<div dir="ltr">Thanks, it works now.</div><br>'),
            (
                '<div>Answer</div><blockquote type="cite">Old</blockquote><div>-- <br>Ivan</div>',
                "<div>Answer</div><div>-- <br>Ivan</div>",
            ),
            (
                "<div>Thanks!<br>On 5 Feb 2024, at 10:12, Ivan &lt;ivan@example.com&gt; "
                'wrote:</div><blockquote type="cite">Old</blockquote>',
                "<div>Thanks!<br></div>",
            ),
            (
                '<div>Approved.</div><div id="x_appendonsend"></div><hr><div>Old</div>',
                "<div>Approved.</div>",
            ),
        ],
        ids=["gmail", "cite with a signature after it", "attribution inside a div", "rest"],
    )
    def test_the_cut_is_exact(self, body: str, out: str) -> None:
        assert strip_html_reply(body) == out

    def test_markup_outside_the_cut_is_untouched(self) -> None:
        out = strip_html_reply(OUTLOOK_DESKTOP)
        assert out.startswith(OUTLOOK_DESKTOP[: OUTLOOK_DESKTOP.index("<div><div style=")])
        assert out.endswith("</div></body></html>")
        assert balanced(out)

    @pytest.mark.parametrize("body", HTML_KEPT.values(), ids=HTML_KEPT.keys())
    def test_forwards_indents_and_unrecognized_html_are_unchanged(self, body: str) -> None:
        assert strip_html_reply(body) == body

    @pytest.mark.parametrize("body", BROKEN_HTML, ids=range(len(BROKEN_HTML)))
    def test_broken_html_never_raises(self, body: str) -> None:
        out = strip_html_reply(body)
        assert isinstance(out, str)
        assert len(out) <= len(body)

    def test_an_unclosed_quote_is_still_removed(self) -> None:
        out = strip_html_reply("<div>New text</div><blockquote type=cite>old quote")
        assert visible(out) == "New text"

    def test_a_long_thread_is_stripped(self) -> None:
        quote = (
            "".join(
                f"<div>On 5 Feb 2024, at 10:12, Person {n} wrote:</div>"
                f'<blockquote type="cite"><div>Message {n}: the printer still does not work.</div>'
                for n in range(2_000)
            )
            + "</blockquote>" * 2_000
        )
        body = f'<div dir="ltr">Fixed, thanks.</div><div class="gmail_quote">{quote}</div>'
        assert len(body) > 200_000
        out = strip_html_reply(body)
        assert visible(out) == "Fixed, thanks."
