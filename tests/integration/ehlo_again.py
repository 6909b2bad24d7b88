#!/usr/bin/env python3
"""ehlo_again.py PORT ID - one SMTP session through Postfix: MAIL and RCPT,
then EHLO again in the middle of the transaction (which resets it), then a
whole message carrying X-Test-Id: ID. Prints each reply code; exits 0 when
the last message was accepted (250 after the dot), 1 otherwise."""
import smtplib
import sys

port, test_id = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=60)
print("EHLO", s.ehlo()[0])
print("MAIL", s.docmd("MAIL FROM:<first@example.net>")[0])
print("RCPT", s.docmd("RCPT TO:<rcpt@example.org>")[0])
print("EHLO again", s.ehlo()[0])
print("MAIL", s.docmd("MAIL FROM:<sender@example.net>")[0])
print("RCPT", s.docmd("RCPT TO:<rcpt@example.org>")[0])
code, text = s.data(
    "From: <sender@example.net>\r\nTo: <rcpt@example.org>\r\nSubject: again\r\n"
    f"X-Test-Id: {test_id}\r\n\r\nEHLO in mid-transaction.\r\n"
)
print("END", code, text.decode(errors="replace"))
s.quit()
sys.exit(0 if code == 250 else 1)
