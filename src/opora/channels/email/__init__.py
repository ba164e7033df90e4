"""The email channel: mailboxes (IMAP polling, an SMTP/LMTP receiver, a pipe), parsing,
threading, loop safety, and replies sent by SMTP through the jobs outbox."""
