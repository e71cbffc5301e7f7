"""The emails' words: one small catalogue of plain-text subjects and bodies, in English and Simplified Chinese.

Pure: the send job fills in the parameters (names, amounts already formatted, links) and picks the language.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum


class Notice(StrEnum):
    """Every email the plugin sends."""

    CLAIM_RECEIVED = "claim_received"
    CLAIM_APPROVED_REFUND = "claim_approved_refund"
    CLAIM_APPROVED_RESHIP = "claim_approved_reship"
    CLAIM_DENIED = "claim_denied"
    CLAIM_PAID = "claim_paid"
    CLAIM_MESSAGE = "claim_message"
    PARCEL_STALLED = "parcel_stalled"  # to the shopper: invited to claim
    PARCEL_DELAYED = "parcel_delayed"  # to the shopper: the delay compensation can be claimed
    MERCHANT_CLAIM_REVIEW = "merchant_claim_review"
    MERCHANT_TRACKING_STALLED = "merchant_tracking_stalled"
    ADMIN_PASSWORD_RESET = "admin_password_reset"  # noqa: S105 - a name. To a staff user: the link to set a new password
    ADMIN_INVITATION = "admin_invitation"  # to a user an owner added: the link to choose a first password


LOCALES = ("en", "zh")

_CATALOGUE: dict[Notice, dict[str, tuple[str, str]]] = {
    Notice.ADMIN_INVITATION: {
        "en": (
            "You have been added to the {shop} admin",
            "Hello,\n\nAn owner of {shop} added {email} to its shipping-protection admin. To choose your password, "
            'open this link within an hour:\n\n{link}\n\nIf the link has expired, use "Forgot your password?" on '
            "the sign-in page to get a new one.",
        ),
        "zh": (
            "您已被添加到 {shop} 的管理后台",
            "您好：\n\n{shop} 的所有者已将 {email} 添加到其运输保障管理后台。请在一小时内打开以下链接设置您的密码：\n\n"
            "{link}\n\n如果链接已过期，请在登录页点击“忘记密码？”获取新的链接。",
        ),
    },
    Notice.ADMIN_PASSWORD_RESET: {
        "en": (
            "Reset your password ({shop})",
            "Hello,\n\nSomeone asked to reset the password of {email} for the {shop} shipping-protection admin. "
            "To choose a new password, open this link within an hour:\n\n{link}\n\nIf it was not you, ignore "
            "this email: your password stays as it is.",
        ),
        "zh": (
            "重置您的密码（{shop}）",
            "您好：\n\n有人申请重置 {shop} 运输保障后台账户 {email} 的密码。请在一小时内打开以下链接设置新密码：\n\n"
            "{link}\n\n如果这不是您本人的操作，请忽略此邮件，您的密码不会改变。",
        ),
    },
    Notice.CLAIM_RECEIVED: {
        "en": (
            "We received your claim {claim} ({shop})",
            "Hello,\n\nWe received your claim {claim} for order {order}. {shop} will look at it and write to you "
            "at this address.",
        ),
        "zh": (
            "我们已收到您的理赔申请 {claim}（{shop}）",
            "您好：\n\n我们已收到您就订单 {order} 提交的理赔申请 {claim}。{shop} 将尽快处理，并通过此邮箱与您联系。",
        ),
    },
    Notice.CLAIM_APPROVED_REFUND: {
        "en": (
            "Your claim {claim} is approved",
            "Hello,\n\nYour claim {claim} for order {order} is approved: {amount} will be refunded to your original "
            "payment method.",
        ),
        "zh": (
            "您的理赔申请 {claim} 已通过",
            "您好：\n\n您就订单 {order} 提交的理赔申请 {claim} 已通过：{amount} 将退回您的原支付方式。",
        ),
    },
    Notice.CLAIM_APPROVED_RESHIP: {
        "en": (
            "Your claim {claim} is approved: a replacement is on its way",
            "Hello,\n\nYour claim {claim} for order {order} is approved: {shop} is sending you a replacement "
            "(order {replacement}).",
        ),
        "zh": (
            "您的理赔申请 {claim} 已通过：补发商品正在寄出",
            "您好：\n\n您就订单 {order} 提交的理赔申请 {claim} 已通过：{shop} 将为您补发商品（订单 {replacement}）。",
        ),
    },
    Notice.CLAIM_DENIED: {
        "en": (
            "Your claim {claim} was not approved",
            "Hello,\n\nYour claim {claim} for order {order} was not approved.\n\nThe reason {shop} gave:\n{reason}",
        ),
        "zh": (
            "您的理赔申请 {claim} 未获通过",
            "您好：\n\n很抱歉，您就订单 {order} 提交的理赔申请 {claim} 未获通过。\n\n{shop} 给出的原因：\n{reason}",
        ),
    },
    Notice.CLAIM_PAID: {
        "en": (
            "Your claim {claim} has been paid",
            "Hello,\n\n{amount} has been paid for your claim {claim} on order {order}.",
        ),
        "zh": (
            "您的理赔 {claim} 已赔付",
            "您好：\n\n您就订单 {order} 提交的理赔申请 {claim} 已赔付 {amount}。",
        ),
    },
    Notice.CLAIM_MESSAGE: {
        "en": (
            "A message about your claim {claim}",
            "Hello,\n\n{shop} wrote about your claim {claim}:\n\n{message}",
        ),
        "zh": (
            "关于您的理赔申请 {claim} 的新消息",
            "您好：\n\n{shop} 就您的理赔申请 {claim} 留言：\n\n{message}",
        ),
    },
    Notice.PARCEL_STALLED: {
        "en": (
            "Your parcel from {shop} seems to be stuck",
            "Hello,\n\nThe parcel of your order {order} has had no tracking update since {since}. If it has not "
            "reached you, your shipping protection covers it: you can file a claim.",
        ),
        "zh": (
            "您在 {shop} 的包裹似乎停滞了",
            "您好：\n\n您的订单 {order} 的包裹自 {since} 起没有物流更新。"
            "如果您仍未收到，您购买的运输保障可以赔付：您可以提交理赔申请。",
        ),
    },
    Notice.PARCEL_DELAYED: {
        "en": (
            "Your parcel from {shop} is late",
            "Hello,\n\nThe parcel of your order {order}, shipped on {shipped}, has not been delivered yet. You can "
            "claim the delay compensation of {amount}.",
        ),
        "zh": (
            "您在 {shop} 的包裹延误了",
            "您好：\n\n您的订单 {order} 的包裹已于 {shipped} 发出，至今尚未送达。您可以申请 {amount} 的延误补偿。",
        ),
    },
    Notice.MERCHANT_CLAIM_REVIEW: {
        "en": (
            "Claim {claim} needs your review",
            "Claim {claim} ({type}, {amount}) on order {order} awaits your decision.{flags}",
        ),
        "zh": (
            "理赔申请 {claim} 需要您审核",
            "订单 {order} 的理赔申请 {claim}（{type}，{amount}）等待您的决定。{flags}",
        ),
    },
    Notice.MERCHANT_TRACKING_STALLED: {
        "en": (
            "Parcel {shipment} of order {order} has stopped moving",
            "Parcel {shipment} of order {order} ({carrier} {tracking}) has had no tracking update since {since}. "
            "The shopper will be invited to file a claim after {grace} day(s) unless it moves again.",
        ),
        "zh": (
            "订单 {order} 的包裹 {shipment} 已停滞",
            "订单 {order} 的包裹 {shipment}（{carrier} {tracking}）自 {since} 起没有物流更新。"
            "若 {grace} 天内仍无更新，系统将邀请顾客提交理赔申请。",
        ),
    },
}

_LINK_LINE = {
    "en": "\n\nSee your claim: {link}",
    "zh": "\n\n查看您的理赔申请：{link}",
}
_PORTAL_LINE = {
    "en": "\n\nFile a claim: {link}",
    "zh": "\n\n提交理赔申请：{link}",
}
_MERCHANT = (
    Notice.MERCHANT_CLAIM_REVIEW,
    Notice.MERCHANT_TRACKING_STALLED,
    Notice.ADMIN_PASSWORD_RESET,
    Notice.ADMIN_INVITATION,
)
_INVITES = (Notice.PARCEL_STALLED, Notice.PARCEL_DELAYED)


def locale_of(value: str | None) -> str:
    """One of LOCALES for a stored language tag ("zh-CN" is "zh"); English when unknown."""
    tag = (value or "").strip().lower().replace("_", "-").split("-", 1)[0]
    return tag if tag in LOCALES else "en"


def render(notice: Notice, locale: str, params: Mapping[str, str], link: str | None = None) -> tuple[str, str]:
    """The subject and plain-text body; `link` (the claim's status page, or the claim portal) ends the body."""
    subject, body = _CATALOGUE[notice][locale_of(locale)]
    values = {key: str(value) for key, value in params.items()}
    text = body.format_map(values)
    if link and notice not in _MERCHANT:
        lines = _PORTAL_LINE if notice in _INVITES else _LINK_LINE
        text += lines[locale_of(locale)].format(link=link)
    # A subject is one line: merchant-written text (a shop name) must not add headers or break it.
    one_line = " ".join(subject.format_map(values).split())
    return one_line[:200], text + "\n"


def format_amount(amount: int, currency: str, exponent: int) -> str:
    """Minor units as people read them: 1999 USD is "19.99 USD", 500 JPY is "500 JPY"."""
    value = Decimal(amount).scaleb(-exponent) if exponent else Decimal(amount)
    return f"{value:,.{exponent}f} {currency}"
