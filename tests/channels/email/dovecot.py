"""A private Dovecot for the IMAP tests: its own config, TLS certificate, users and Maildirs in
a temporary directory, IMAP (STARTTLS offered) and IMAPS on free ports of 127.0.0.1.

``scripts/install-test-services`` (``make services``) installs Debian's ``dovecot-imapd``; the
system-wide Dovecot is never used or touched. Run as root (CI, the dev machines), Dovecot
drops to its own ``dovecot``/``dovenull`` users and keeps mail as ``nobody``; run as another
user, everything runs as that user. :func:`running_dovecot` starts one in the foreground and
stops it, its children with it, at the end.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opora.channels.email.imap import decode_mailbox, quote, quote_mailbox

DOVECOT = os.environ.get("OPORA_TEST_DOVECOT", "/usr/sbin/dovecot")
IMAP_BINARY = "/usr/lib/dovecot/imap"  # dovecot-imapd
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
HOST = "127.0.0.1"
START_SECONDS = 20
MAIL_USER = "nobody"  # Dovecot refuses root for mail; as root, mail belongs to this user


def missing_reason() -> str | None:
    """Why no private Dovecot can start here, or None."""
    for path, what in ((DOVECOT, "dovecot-core"), (IMAP_BINARY, "dovecot-imapd")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: `make services` installs Debian's {what} (as root, apt-get)"
    if not os.access(OPENSSL, os.X_OK):
        return f"{OPENSSL} is missing: `make services` installs it (as root, apt-get)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class StoredMessage:
    """A message as the server holds it (read with EXAMINE: reading changes nothing)."""

    uid: int
    flags: frozenset[str]
    raw: bytes


@dataclass
class Dovecot:
    root: Path
    imap_port: int
    imaps_port: int
    ca_file: str
    box_password: str
    pid: int  # the master's; it leads its own process group
    users: dict[str, str] = field(default_factory=dict)
    host: str = HOST

    @property
    def log(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def passwd_file(self) -> Path:
        return self.root / "passwd"

    def maildir(self, user: str) -> Path:
        return self.root / "mail" / user / "Maildir"

    def new_mailbox(self) -> tuple[str, str]:
        """A fresh, empty account for one test: (name, password). Dovecot reads the passwd-file
        at most once a second, so these log in through a static passdb (``box-*`` names, one
        shared password) instead of a new line there."""
        name = f"box-{secrets.token_hex(6)}"
        self.users[name] = self.box_password
        return name, self.box_password

    @contextlib.contextmanager
    def connect(self, user: str) -> Iterator[imaplib.IMAP4]:
        """A logged-in plain IMAP connection for setting up and inspecting mailboxes."""
        conn = imaplib.IMAP4(self.host, self.imap_port, timeout=10)
        try:
            password = self.users[user]
            if password.isascii():
                conn.login(quote(user), password)
            else:
                secret = f"\0{user}\0{password}".encode()
                conn.authenticate("PLAIN", lambda _: secret)
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.logout()

    def append(
        self, user: str, raw: bytes, folder: str = "INBOX", flags: str = "", *, create: bool = True
    ) -> int:
        """Delivers ``raw`` by IMAP APPEND (creating the folder when missing); its UID.
        imaplib turns bare LF and CR into CRLF, so give CRLF to compare bytes after."""
        mailbox = quote_mailbox(folder)
        with self.connect(user) as conn:
            if create and conn.status(mailbox, "(MESSAGES)")[0] != "OK":
                _ok(conn.create(mailbox))
            typ, data = conn.append(mailbox, flags or None, None, raw)
            _ok((typ, data))
        match = re.search(rb"\[APPENDUID \d+ (\d+)\]", data[0] or b"")
        assert match, f"no APPENDUID in {data!r}"
        return int(match.group(1))

    def create_folder(self, user: str, folder: str) -> None:
        with self.connect(user) as conn:
            _ok(conn.create(quote_mailbox(folder)))

    def folders(self, user: str) -> list[str]:
        """Every folder of the account, decoded from modified UTF-7."""
        with self.connect(user) as conn:
            typ, data = conn.list('""', "*")
            _ok((typ, data))
        names = []
        for item in data:
            if isinstance(item, tuple):  # the name came as a literal
                names.append(item[1].decode())
            elif item:
                line = item.decode()
                match = re.match(r'\([^)]*\) (?:"(?:[^"\\]|\\.)*"|NIL) (.+)$', line)
                assert match, line
                name = match.group(1)
                if name.startswith('"'):
                    name = re.sub(r"\\(.)", r"\1", name[1:-1])
                names.append(name)
        return sorted(decode_mailbox(n) for n in names)

    def messages(self, user: str, folder: str = "INBOX", uids: str = "1:*") -> list[StoredMessage]:
        """The folder's messages (or those of a UID set) with their flags and bytes, by UID."""
        with self.connect(user) as conn:
            _ok(conn.select(quote_mailbox(folder), readonly=True))
            typ, data = conn.uid("FETCH", uids, "(UID FLAGS BODY.PEEK[])")
            _ok((typ, data))
        found = []
        for item in data:
            if not isinstance(item, tuple):
                continue
            head = item[0].decode()
            uid = re.search(r"\bUID (\d+)", head)
            flags = re.search(r"\bFLAGS \(([^)]*)\)", head)
            assert uid and flags, head
            message_flags = frozenset(flags.group(1).split())
            found.append(StoredMessage(int(uid.group(1)), message_flags, item[1]))
        return sorted(found, key=lambda m: m.uid)

    def set_flags(self, user: str, uid: int, flags: str, folder: str = "INBOX") -> None:
        """Adds flags to one message, as a person's mail client would."""
        with self.connect(user) as conn:
            _ok(conn.select(quote_mailbox(folder)))
            _ok(conn.uid("STORE", str(uid), "+FLAGS", flags))

    def message_file(self, user: str, uid: int, folder: str = "INBOX") -> Path:
        """The Maildir file holding a message, found by its bytes (tests run as root)."""
        [message] = self.messages(user, folder, str(uid))
        raw = message.raw
        base = self.maildir(user)
        if folder.upper() != "INBOX":
            base = base / ("." + quote_mailbox(folder)[1:-1].replace("/", "."))
        for path in sorted(base.glob("[nc][eu][wr]/*")):
            if path.read_bytes().replace(b"\n", b"\r\n") == raw:
                return path
        raise LookupError(f"no Maildir file for UID {uid} of {user}'s {folder}")


def _ok(result: tuple[str, Sequence[object]]) -> None:
    typ, data = result
    assert typ == "OK", f"{typ} {data!r}"


def _config(root: Path, imap_port: int, imaps_port: int, box_password: str) -> str:
    if os.geteuid() == 0:
        mail = pwd.getpwnam(MAIL_USER)
        users = no_chroot = ""  # Dovecot's users: dovenull for logins, dovecot for the rest
    else:
        mail = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(mail.pw_gid).gr_name
        users = (
            f"default_login_user = {mail.pw_name}\ndefault_internal_user = {mail.pw_name}\n"
            f"default_internal_group = {group}"
        )
        no_chroot = "  chroot =\n"
    return f"""# A private Dovecot for Opora's tests (tests/channels/email/dovecot.py)
instance_name = opora-test-{imap_port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {HOST}
ssl = yes
ssl_cert = <{root}/tls/cert.pem
ssl_key = <{root}/tls/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
passdb {{
  driver = static
  args = password={box_password}
  username_filter = box-*
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={root}/mail/%u
}}
service anvil {{
{no_chroot}  # no growing delay after the tests' failed logins from 127.0.0.1
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
{no_chroot}  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
{users}
"""


def _make_certificate(tls: Path) -> None:
    tls.mkdir()
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(tls / "key.pem"), "-out", str(tls / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip


def _greets(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as s:
            return s.recv(64).startswith(b"* OK")
    except OSError:
        return False


def _listens(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the master, which stops its children; then SIGKILL whatever is left of
    its process group (it leads its own session)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _start(root: Path, box_password: str) -> tuple[subprocess.Popen[bytes], int, int]:
    """Starts Dovecot on free ports; tries new ports when another process took one meanwhile."""
    for _attempt in range(3):
        imap_port, imaps_port = free_port(), free_port()
        if imap_port == imaps_port:
            continue
        config = root / "dovecot.conf"
        config.write_text(_config(root, imap_port, imaps_port, box_password))
        with (root / "stdout.log").open("ab") as out:
            proc = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while proc.poll() is None and time.monotonic() < deadline:
            if _greets(imap_port) and _listens(imaps_port):
                return proc, imap_port, imaps_port
            time.sleep(0.05)
        exited = proc.poll()
        _stop(proc)
        log = _tail(root / "dovecot.log") + "\n" + _tail(root / "stdout.log")
        if "Address already in use" not in log:
            what = f"exited with {exited}" if exited is not None else "not up in time"
            raise RuntimeError(f"Dovecot {what}:\n{log}")
    raise RuntimeError("Dovecot found no free ports in 3 tries")


def _write_passwd(path: Path, users: dict[str, str]) -> None:
    lines = []
    for name, password in users.items():
        if ":" in name + password or "\n" in name + password:
            raise ValueError("passwd-file fields cannot hold ':' or newlines")
        lines.append(f"{name}:{{PLAIN}}{password}::::::\n")
    path.write_text("".join(lines), encoding="utf-8")
    path.chmod(0o644)  # read by Dovecot's unprivileged auth process


@contextlib.contextmanager
def running_dovecot(users: dict[str, str]) -> Iterator[Dovecot]:
    """A private Dovecot with these accounts (name → plain password) for as long as the block
    runs; its directory is removed after."""
    # Not under pytest's 0700 tmp dir: Dovecot's unprivileged processes read the passwd-file
    # and the Maildirs by path.
    root = Path(tempfile.mkdtemp(prefix="opora-dovecot-"))
    proc = None
    try:
        root.chmod(0o755)
        _make_certificate(root / "tls")
        _write_passwd(root / "passwd", users)
        mail = root / "mail"
        mail.mkdir()
        if os.geteuid() == 0:
            owner = pwd.getpwnam(MAIL_USER)
            os.chown(mail, owner.pw_uid, owner.pw_gid)
        box_password = secrets.token_urlsafe(12)
        proc, imap_port, imaps_port = _start(root, box_password)
        yield Dovecot(
            root=root,
            imap_port=imap_port,
            imaps_port=imaps_port,
            ca_file=str(root / "tls" / "cert.pem"),
            box_password=box_password,
            pid=proc.pid,
            users=dict(users),
        )
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(root, ignore_errors=True)
