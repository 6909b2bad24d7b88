#!/usr/bin/env python3
"""slow_data.py PORT ID PAUSE - one message through Postfix on PORT whose
client is slow: it waits PAUSE seconds between RCPT and DATA and again in
the middle of the message text (each wait well inside Postfix's
smtpd_timeout). The message carries X-Test-Id: ID. Prints the final reply;
exits 0 when it was 250."""
import smtplib
import sys
import time

port, test_id, pause = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example", timeout=60)
s.ehlo()
s.docmd("MAIL FROM:<sender@example.net>")
s.docmd("RCPT TO:<rcpt@example.org>")
time.sleep(pause)
code, _ = s.docmd("DATA")
if code != 354:
    print("DATA", code)
    sys.exit(1)
s.send(
    "From: <sender@example.net>\r\nTo: <rcpt@example.org>\r\nSubject: slow\r\n"
    f"X-Test-Id: {test_id}\r\n\r\nThe first half, then a pause.\r\n"
)
time.sleep(pause)
s.send("The second half.\r\n.\r\n")
code, text = s.getreply()
print("END", code, text.decode(errors="replace"))
s.quit()
sys.exit(0 if code == 250 else 1)
