"""Every word the claim portal shows, in English and Simplified Chinese, and how a page picks its language.

A dict catalogue, like the terms page's (plugin/terms.py), rather than Flask-Babel: two languages, a few dozen
strings, no message extraction or compile step to keep in sync, and a missing key fails a test instead of falling
back silently. Placeholders are str.format fields; values are escaped by Jinja when shown, never by the catalogue.
"""

from __future__ import annotations

import re

from flask import request, session
from werkzeug.exceptions import RequestEntityTooLarge

LANGUAGES = ("en", "zh")
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}
SESSION_LANGUAGE = "portal_lang"
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "portal": "Claims · {shop}",
        "lookup_heading": "Report a problem with your order",
        "lookup_intro": "Enter your order number and the email address you used at checkout.",
        "order_number": "Order number",
        "email": "Email address",
        "find_order": "Find my order",
        "order_not_found": "No order matches this order number and email. Check both and try again.",
        "rate_limited_title": "Too many attempts",
        "rate_limited": "Too many attempts to find an order from this connection. Please wait a few minutes and try "
        "again.",
        "session_expired": "For your security, please find your order again.",
        "order_heading": "Order {order}",
        "start_over": "Not your order? Start over",
        "parcel": "Which parcel?",
        "parcel_line": "{carrier} {tracking}, shipped {date}",
        "parcel_delivered_on": "delivered {date}",
        "what_happened": "What happened?",
        "type_lost": "It never arrived",
        "type_stolen": "It was delivered, then stolen",
        "type_damaged": "Something arrived damaged",
        "type_delayed": "It is very late",
        "type_missing_items": "Items are missing from the parcel",
        "description": "Describe what happened",
        "description_hint": "Where and when you noticed it, what the packaging looked like.",
        "items": "Which items? (optional)",
        "items_hint": "Leave all at 0 to claim for the whole parcel.",
        "item_of": "of {count}",
        "files": "Photos or PDFs",
        "files_hint": "JPEG, PNG, WebP or PDF; up to 10 files of 10 MB each. Damaged items need at least one photo.",
        "submit_claim": "Submit my claim",
        "no_parcels": "This order has not shipped yet; a claim can be filed once a parcel is on its way.",
        "description_required": "Please describe what happened.",
        "description_too_long": "Please keep the description under 5,000 characters.",
        "text_unusable": "This text contains characters that cannot be stored; please retype it.",
        "type_required": "Please choose what happened.",
        "parcel_required": "Please choose the parcel.",
        "quantity_invalid": "Choose a number from 0 to {count}.",
        "files_refused": "A file could not be accepted:",
        "files_too_many": "Send at most 10 files at a time.",
        "file_too_large": "{name} is larger than 10 MB.",
        "files_none": "Choose at least one file.",
        "too_large_title": "Files too large",
        "too_large": "The files are too large: send at most 10 files of 10 MB each.",
        "refused_outside_claim_window_opens": "This kind of claim can be filed from {date}.",
        "refused_outside_claim_window_closed": "The time to file this kind of claim for this parcel ended on {date}.",
        "refused_outside_claim_window": "This parcel is outside the time allowed for this kind of claim.",
        "refused_outside_claim_window_stolen": "A stolen-parcel claim can be filed once the parcel is marked "
        "delivered; a parcel that never arrived is reported as “It never arrived”.",
        "refused_evidence_required": "A damaged-item claim needs at least one photo of the damage (JPEG, PNG or WebP).",
        "refused_claim_limit_reached": "This email address has filed as many claims as this shop accepts in a "
        "period; please contact the shop.",
        "refused_not_protected": "This parcel is not covered by shipping protection.",
        "refused_parcel_delivered": "The tracking shows this parcel delivered on {date}. If it was taken after "
        "delivery, choose “It was delivered, then stolen”.",
        "refused_delay_cover_off": "This shop does not compensate late parcels.",
        "refused_not_shipped": "This order has not shipped yet; a claim can be filed once a parcel is on its way.",
        "refused_claim_exists": "This parcel already has a claim.",
        "refused_other": "This claim cannot be filed: {message}",
        "see_claim": "See that claim's status",
        "filed_title": "Claim received",
        "filed_heading": "Thank you, we received your claim",
        "filed_number": "Your claim number is {claim}.",
        "filed_keep_link": "Keep this link to follow your claim and to send more photos or messages:",
        "filed_open": "Open my claim's status",
        "status_title": "Claim {claim}",
        "status": "Status",
        "status_submitted": "Received: waiting for review",
        "status_needs_review": "Being reviewed",
        "status_approved": "Approved",
        "status_denied": "Declined",
        "status_paid": "Paid",
        "status_reshipped": "Replacement sent",
        "claim_type": "Problem",
        "claim_order": "Order",
        "claim_amount": "Amount claimed",
        "approved_amount": "Amount approved",
        "resolution": "Decision",
        "resolution_refund": "Refund to your original payment method",
        "resolution_reship": "The items are sent again",
        "deny_reason": "Reason",
        "files_sent": "Files sent",
        "messages": "Messages",
        "no_messages": "No messages yet.",
        "author_shopper": "You",
        "reply": "Write to the shop",
        "send": "Send",
        "message_required": "Please write a message.",
        "message_too_long": "Please keep the message under 5,000 characters.",
        "message_sent": "Your message was sent.",
        "add_files": "Add photos or PDFs",
        "upload": "Upload",
        "files_added": "Your files were added to the claim.",
        "not_found_title": "Link not valid",
        "not_found": "This link is not valid or has expired. Use the link from your confirmation, or find your "
        "order again.",
        "csrf_title": "Please try again",
        "csrf": "This form expired or was not sent from this page. Go back, reload the page and try again.",
        "find_again": "Find my order",
    },
    "zh": {
        "portal": "索赔 · {shop}",
        "lookup_heading": "订单问题申报",
        "lookup_intro": "请输入您的订单号和下单时使用的电子邮箱。",
        "order_number": "订单号",
        "email": "电子邮箱",
        "find_order": "查找我的订单",
        "order_not_found": "没有与该订单号和邮箱匹配的订单。请检查后重试。",
        "rate_limited_title": "尝试次数过多",
        "rate_limited": "此网络连接查找订单的次数过多。请等待几分钟后再试。",
        "session_expired": "为保障您的安全，请重新查找您的订单。",
        "order_heading": "订单 {order}",
        "start_over": "不是您的订单？重新开始",
        "parcel": "哪个包裹？",
        "parcel_line": "{carrier} {tracking}，发货日期 {date}",
        "parcel_delivered_on": "签收日期 {date}",
        "what_happened": "发生了什么？",
        "type_lost": "包裹一直未送达",
        "type_stolen": "包裹已签收但被盗",
        "type_damaged": "收到的物品有损坏",
        "type_delayed": "包裹严重延误",
        "type_missing_items": "包裹中缺少物品",
        "description": "请描述情况",
        "description_hint": "您在何时何地发现问题，包装是什么样子。",
        "items": "涉及哪些物品？（可选）",
        "items_hint": "全部保持为 0 即为整个包裹索赔。",
        "item_of": "共 {count} 件",
        "files": "照片或 PDF",
        "files_hint": "JPEG、PNG、WebP 或 PDF；最多 10 个文件，每个不超过 10 MB。物品损坏需至少附一张照片。",
        "submit_claim": "提交索赔",
        "no_parcels": "该订单尚未发货；包裹发出后即可提出索赔。",
        "description_required": "请描述发生的情况。",
        "description_too_long": "描述请不要超过 5000 个字符。",
        "text_unusable": "该文本包含无法保存的字符，请重新输入。",
        "type_required": "请选择发生了什么。",
        "parcel_required": "请选择包裹。",
        "quantity_invalid": "请选择 0 到 {count} 之间的数字。",
        "files_refused": "有文件无法接受：",
        "files_too_many": "每次最多发送 10 个文件。",
        "file_too_large": "{name} 超过 10 MB。",
        "files_none": "请至少选择一个文件。",
        "too_large_title": "文件过大",
        "too_large": "文件过大：最多 10 个文件，每个不超过 10 MB。",
        "refused_outside_claim_window_opens": "此类索赔可从 {date} 起提出。",
        "refused_outside_claim_window_closed": "该包裹此类索赔的申报期限已于 {date} 结束。",
        "refused_outside_claim_window": "该包裹不在此类索赔的申报期限内。",
        "refused_outside_claim_window_stolen": "包裹显示已签收后才能申报被盗；从未送达的包裹请选择“包裹一直未送达”。",
        "refused_evidence_required": "物品损坏索赔需至少附一张损坏照片（JPEG、PNG 或 WebP）。",
        "refused_claim_limit_reached": "该邮箱在一段时间内提出的索赔已达本店上限，请联系商家。",
        "refused_not_protected": "该包裹未购买运输保障。",
        "refused_parcel_delivered": "物流信息显示该包裹已于 {date} 签收。如签收后被盗，请选择“包裹已签收但被盗”。",
        "refused_delay_cover_off": "本店不为延误包裹提供补偿。",
        "refused_not_shipped": "该订单尚未发货；包裹发出后即可提出索赔。",
        "refused_claim_exists": "该包裹已有一项索赔。",
        "refused_other": "无法提交此索赔：{message}",
        "see_claim": "查看该索赔的进度",
        "filed_title": "已收到索赔",
        "filed_heading": "谢谢，我们已收到您的索赔",
        "filed_number": "您的索赔编号是 {claim}。",
        "filed_keep_link": "请保存此链接，用于查看索赔进度以及补充照片或留言：",
        "filed_open": "查看我的索赔进度",
        "status_title": "索赔 {claim}",
        "status": "状态",
        "status_submitted": "已收到，等待审核",
        "status_needs_review": "审核中",
        "status_approved": "已批准",
        "status_denied": "已拒绝",
        "status_paid": "已赔付",
        "status_reshipped": "已补发",
        "claim_type": "问题",
        "claim_order": "订单",
        "claim_amount": "索赔金额",
        "approved_amount": "批准金额",
        "resolution": "处理结果",
        "resolution_refund": "退款至原支付方式",
        "resolution_reship": "重新寄送商品",
        "deny_reason": "原因",
        "files_sent": "已发送的文件",
        "messages": "留言",
        "no_messages": "暂无留言。",
        "author_shopper": "您",
        "reply": "给商家留言",
        "send": "发送",
        "message_required": "请填写留言。",
        "message_too_long": "留言请不要超过 5000 个字符。",
        "message_sent": "您的留言已发送。",
        "add_files": "补充照片或 PDF",
        "upload": "上传",
        "files_added": "文件已添加到索赔中。",
        "not_found_title": "链接无效",
        "not_found": "此链接无效或已过期。请使用确认页面上的链接，或重新查找您的订单。",
        "csrf_title": "请重试",
        "csrf": "此表单已过期或并非从本页面提交。请返回、刷新页面后重试。",
        "find_again": "查找我的订单",
    },
}


def _supported(value: str | None) -> str | None:
    asked = (value or "").replace("_", "-").split("-")[0].strip().lower()
    return asked if asked in LANGUAGES else None


def _form_field(name: str) -> str | None:
    """A field of the posted form, or None when there is none (or the body was refused as too large)."""
    if request.method != "POST":
        return None
    try:
        return request.form.get(name)
    except RequestEntityTooLarge:
        return None


def page_language() -> str:
    """The shopper's choice (`lang` in the query or a form, remembered in the session), else Accept-Language
    (any zh-* is Chinese), else English."""
    chosen = _supported(request.args.get("lang")) or _supported(_form_field("lang"))
    if chosen is not None:
        if session.get(SESSION_LANGUAGE) != chosen:
            session[SESSION_LANGUAGE] = chosen
        return chosen
    remembered = _supported(session.get(SESSION_LANGUAGE))
    if remembered is not None:
        return remembered
    return request.accept_languages.best_match(LANGUAGES, default="en") or "en"


def refusal_text(language: str, code: str, message: str, claim_type: str | None = None) -> str:
    """A refusal of the claim rules in the shopper's language; the English message supplies the date it names."""
    t = TEXTS[language]
    found = _DATE.search(message)
    date = found.group(0) if found else ""
    if code == "outside_claim_window":
        if claim_type == "stolen" and not date:
            return t["refused_outside_claim_window_stolen"]
        if date and " from " in message:
            return t["refused_outside_claim_window_opens"].format(date=date)
        if date and "closed on" in message:
            return t["refused_outside_claim_window_closed"].format(date=date)
        return t["refused_outside_claim_window"] + (f" ({date})" if date else "")
    key = f"refused_{code}"
    if key in t:
        return t[key].format(date=date)
    return t["refused_other"].format(message=message)
