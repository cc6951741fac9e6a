"""Tracking tokens and link rewriting, VERP return paths, bot flagging, and the parsing of
bounce reports (real-world DSN and ARF shapes) and Postmark webhooks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from itinera.channels import tracking
from itinera.runtime.bounces import from_postmark, parse_report
from itinera.runtime.engagement import bot_reason

SECRET = "s3cret"
BASE = "https://app.test"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_click_token_verifies_and_names_its_link() -> None:
    url = tracking.click_url(BASE, SECRET, 42, 3, "https://vendor.test/a?b=1&c=2")
    assert url.startswith(f"{BASE}/t/c/") and SECRET not in url
    found = tracking.verify(_token(url), SECRET)
    assert found == tracking.Tracked("click", 42, 3, "https://vendor.test/a?b=1&c=2")
    opened = tracking.verify(_token(tracking.open_url(BASE, SECRET, 42)), SECRET)
    assert opened == tracking.Tracked("open", 42)


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature changed
    lambda t: "x" + t,  # the body changed
    lambda t: t.replace(".", ""),  # no signature
    lambda t: t + "=",  # not the canonical spelling
    lambda t: "",
])
def test_an_altered_token_verifies_to_nothing(tamper) -> None:  # type: ignore[no-untyped-def]
    token = _token(tracking.click_url(BASE, SECRET, 1, 0, "https://vendor.test/"))
    assert tracking.verify(tamper(token), SECRET) is None
    assert tracking.verify(token, "another secret") is None


def test_a_forged_body_with_another_target_does_not_verify() -> None:
    good = _token(tracking.click_url(BASE, SECRET, 1, 0, "https://vendor.test/"))
    evil = _token(tracking.click_url(BASE, "attacker", 1, 0, "https://evil.test/"))
    forged = f"{evil.split('.')[0]}.{good.split('.')[1]}"
    assert tracking.verify(forged, SECRET) is None


def test_links_are_rewritten_in_both_parts_with_one_index_per_url() -> None:
    links = tracking.links_of(BASE, SECRET, 7)
    html = tracking.rewrite_html(
        '<body><a href="https://v.test/x?a=1&amp;b=2">x</a> <a href=\'mailto:a@b.test\'>m</a>'
        ' <A HREF="https://v.test/y">y</A> <a href="#top">t</a></body>', links,
        tracking.open_url(BASE, SECRET, 7))
    text = tracking.rewrite_text("See https://v.test/y. Or (https://v.test/z).", links)
    assert "mailto:a@b.test" in html and 'href="#top"' in html  # only http(s) is tracked
    hrefs = [unescape(h) for h in re.findall(r'href="([^"]+)"', html, re.IGNORECASE)]
    found = [tracking.verify(_token(h), SECRET) for h in hrefs if h.startswith(BASE)]
    assert [(f.link, f.url) for f in found if f] == [(0, "https://v.test/x?a=1&b=2"),
                                                      (1, "https://v.test/y")]
    assert html.index("/t/o/") < html.index("</body>")
    words = text.split()
    assert tracking.verify(_token(words[1].rstrip(".")), SECRET) == tracking.Tracked(
        "click", 7, 1, "https://v.test/y")  # the same index as in the HTML
    assert words[1].endswith(".") and words[3].endswith(").")  # punctuation left outside
    assert tracking.verify(_token(words[3][1:-2]), SECRET) == tracking.Tracked(
        "click", 7, 2, "https://v.test/z")


def test_the_base_url_comes_from_the_unsubscribe_link_when_unset() -> None:
    assert tracking.base_url_of(None, "https://app.test/unsubscribe") == "https://app.test"
    assert tracking.base_url_of(None, "https://app.test/mail/unsubscribe?l=1") == \
        "https://app.test/mail"
    assert tracking.base_url_of("https://t.test/", "https://app.test/unsubscribe") == \
        "https://t.test"


def test_a_return_path_names_its_effect_and_resists_tampering() -> None:
    address = tracking.verp_address("bounces@vendor.test", SECRET, 1234)
    assert address.startswith("bounces+1234-") and address.endswith("@vendor.test")
    assert tracking.verify_return_path(address, SECRET) == 1234
    assert tracking.verify_return_path(address.upper(), SECRET) == 1234  # case changed
    assert tracking.verify_return_path(f"<{address}>", SECRET) == 1234
    assert tracking.verify_return_path(address.replace("+1234-", "+1235-"), SECRET) is None
    assert tracking.verify_return_path("bounces@vendor.test", SECRET) is None
    assert tracking.verify_return_path(address, "other") is None


def test_bots_are_flagged_by_agent_timing_and_bursts() -> None:
    browser = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15"
    later = NOW + timedelta(minutes=5)
    assert bot_reason(browser, later, NOW, 0) is None
    assert bot_reason("Mozilla/5.0 (compatible; Barracuda Sentinel)", later, NOW, 0) == "user_agent"
    assert bot_reason("Mimecast URL Protect", later, NOW, 0) == "user_agent"
    assert bot_reason("python-requests/2.31", later, NOW, 0) == "user_agent"
    assert bot_reason(None, later, NOW, 0) == "user_agent"  # no agent at all
    assert bot_reason(browser, NOW + timedelta(milliseconds=400), NOW, 0) == "too_soon"
    assert bot_reason(browser, later, None, 0) == "too_soon"  # before delivery was recorded
    assert bot_reason(browser, later, NOW, 2) == "burst"
    assert bot_reason(browser, later, NOW, 1) is None


POSTFIX = b"""\
From: MAILER-DAEMON@mx.vendor.test (Mail Delivery System)
To: bounces+12-abc@vendor.test
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="3F2B4C0123.1700000000/mx.vendor.test"

--3F2B4C0123.1700000000/mx.vendor.test
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.vendor.test.

--3F2B4C0123.1700000000/mx.vendor.test
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.vendor.test
X-Postfix-Queue-ID: 3F2B4C0123
Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000 (UTC)

Final-Recipient: rfc822; Gone@Acme.test
Original-Recipient: rfc822;gone@acme.test
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.acme.test
Diagnostic-Code: smtp; 550 5.1.1 <gone@acme.test>: Recipient address rejected:
    User unknown in virtual mailbox table

Final-Recipient: rfc822; full@acme.test
Action: delayed
Status: 4.2.2
Diagnostic-Code: smtp; 452 4.2.2 Mailbox full

--3F2B4C0123.1700000000/mx.vendor.test
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Subject: Welcome

--3F2B4C0123.1700000000/mx.vendor.test--
"""

# Exchange Online's shape: a DSN whose report part holds one recipient, Status without
# Diagnostic-Code, recipient in upper case.
EXCHANGE = b"""\
From: postmaster@outlook.test
Subject: Undeliverable: Welcome
MIME-Version: 1.0
Content-Type: multipart/report; report-type="delivery-status"; boundary="_b_"

--_b_
Content-Type: multipart/alternative; boundary="_a_"

--_a_
Content-Type: text/plain

Delivery has failed to these recipients or groups.
--_a_--

--_b_
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.outlook.test
Received-From-MTA: dns;mail.vendor.test

Final-Recipient: rfc822;NOBODY@CONTOSO.TEST
Action: failed
Status: 5.4.1
X-Display-Name: Nobody

--_b_--
"""

ARF = b"""\
From: feedback@mail.test
Subject: complaint about message
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="part"

--part
Content-Type: text/plain

This is an email abuse report.

--part
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Rcpt-To: <angry@acme.test>

--part
Content-Type: message/rfc822

Subject: Welcome

hi
--part--
"""


def test_a_postfix_dsn_gives_a_hard_and_a_soft_bounce() -> None:
    found = parse_report(POSTFIX)
    assert [(b.address, b.kind, b.status) for b in found] == [
        ("gone@acme.test", "hard", "5.1.1"), ("full@acme.test", "soft", "4.2.2")]
    assert found[0].detail is not None and "User unknown" in found[0].detail


def test_an_exchange_dsn_and_the_effect_named_by_the_return_path() -> None:
    (bounce,) = parse_report(EXCHANGE, effect=9, effect_address="nobody@contoso.test")
    assert (bounce.address, bounce.kind, bounce.status, bounce.effect) == \
        ("nobody@contoso.test", "hard", "5.4.1", 9)
    (other,) = parse_report(EXCHANGE, effect=9, effect_address="someone@else.test")
    assert other.effect is None  # the report is about another address than the effect's


def test_a_feedback_report_is_a_complaint_and_other_mail_is_nothing() -> None:
    (complaint,) = parse_report(ARF)
    assert (complaint.address, complaint.kind) == ("angry@acme.test", "complaint")
    assert parse_report(b"Subject: out of office\r\n\r\nI am away\r\n") == []
    assert parse_report(b"") == []


def test_postmark_webhooks() -> None:
    hard = from_postmark({"RecordType": "Bounce", "Type": "HardBounce", "TypeCode": 1,
                          "Email": "John@Example.test", "Description": "The server was unable "
                          "to deliver your message", "BouncedAt": "2023-11-05T16:33:54Z"})
    assert hard is not None and (hard.address, hard.kind, hard.source) == \
        ("john@example.test", "hard", "postmark")
    soft = from_postmark({"RecordType": "Bounce", "Type": "SoftBounce", "Email": "a@b.test"})
    assert soft is not None and soft.kind == "soft"
    spam = from_postmark({"RecordType": "SpamComplaint", "Type": "SpamComplaint",
                          "Email": "a@b.test"})
    assert spam is not None and spam.kind == "complaint"
    assert from_postmark({"RecordType": "Open", "Email": "a@b.test"}) is None
    assert from_postmark({"RecordType": "Bounce", "Type": "AutoResponder",
                          "Email": "a@b.test"}) is None
    with pytest.raises(ValueError):
        from_postmark({"RecordType": "Bounce", "Type": "HardBounce", "Email": 3})
