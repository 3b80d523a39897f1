
"""Writes app/locale/zh/LC_MESSAGES/messages.po from the table below (kept as code so a review sees each pair on one
line; run after adding a message: ``python -m app.locale.build_po``). The .po file is what the service reads."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

ZH = {
    # problem titles
    "Bad request": "请求有误", "Unauthorized": "未认证", "Forbidden": "无权操作", "Not found": "未找到",
    "Method not allowed": "不支持该方法", "Conflict": "冲突", "Precondition failed": "前置条件不满足",
    "Payload too large": "请求内容过大", "Unsupported media type": "不支持的文件类型", "Invalid input": "输入无效",
    "Precondition required": "缺少版本号", "Too many requests": "请求过于频繁", "Internal server error": "服务器内部错误",
    # field messages
    "Unknown field: this request body does not accept it (check the spelling).": "未知字段：请求中不接受此字段（请检查拼写）。",
    "Field required.": "必填项。", "At most {max_length} characters.": "最多 {max_length} 个字符。",
    "At least {min_length} characters.": "至少 {min_length} 个字符。", "At most {max_length} items.": "最多 {max_length} 项。",
    "At least {min_length} items.": "至少 {min_length} 项。", "Must be at least {ge}.": "不能小于 {ge}。",
    "Must be at most {le}.": "不能大于 {le}。", "Must be greater than {gt}.": "须大于 {gt}。",
    "Must be less than {lt}.": "须小于 {lt}。", "Must be one of: {expected}.": "须为以下之一：{expected}。",
    "Must be a whole number.": "须为整数。", "Must be a number.": "须为数字。", "Must be true or false.": "须为 true 或 false。",
    "Must be text.": "须为文本。", "Must be a list.": "须为列表。", "Must be a date (YYYY-MM-DD).": "须为日期（YYYY-MM-DD）。",
    "Must be a date and time (ISO 8601).": "须为日期时间（ISO 8601）。", "Must carry a UTC offset.": "须带时区偏移。",
    "The body is not valid JSON.": "请求内容不是有效的 JSON。", "Must be an object.": "须为对象。", "Must be a URL.": "须为网址。",
    "Must be an http or https URL.": "须为 http 或 https 网址。", "Invalid input.": "输入无效。",
    "Invalid input: {fields}": "输入无效：{fields}", "An unexpected error occurred; it has been logged.": "发生意外错误，已记录。",
    "must not be blank": "不能为空", "each certification is 1-40 characters": "每项认证须为 1 至 40 个字符",
    "date out of range": "日期超出范围", "a '{kind_value}' milestone needs its reference number": "“{kind_value}”里程碑须填写编号",
    "an NMPA registration certificate number looks like 国械注准20243070001": "国家药监局注册证编号形如 国械注准20243070001",
    "an NMPA Class I filing number looks like 沪械备20240012号": "第一类医疗器械备案编号形如 沪械备20240012号",
    "a '{kind_value}' reference is the approval or protocol number as issued (at least three digits, e.g. 伦审[2023]第056号 or "
    "IACUC-2022-117)": "“{kind_value}”的编号须为正式批件或方案编号（至少三位数字，如 伦审[2023]第056号 或 IACUC-2022-117）",
    "reason is required when not interested (too_early, wrong_technology, capacity, region, other)":
        "选择不感兴趣时须说明原因（too_early、wrong_technology、capacity、region、other）",
    "reason is only for 'not_interested'": "原因仅用于“不感兴趣”", "comment is required when the reason is 'other'": "原因为“其他”时须填写说明",
    "a new need starts as draft or open": "新需求须为草稿或开放状态", "at most 2000 characters": "最多 2000 个字符",
    "name_zh or name_en is required": "须填写中文名或英文名", "date-time out of range": "日期时间超出范围",
    "must be between {low} and {high}": "须在 {low} 与 {high} 之间",
    # authentication, authorisation
    "The record is being changed by another request; retry.": "该记录正被其他请求修改，请重试。",
    "Send 'Authorization: Bearer <token>'.": "请发送“Authorization: Bearer <令牌>”请求头。",
    "Invalid, revoked or expired token.": "令牌无效、已撤销或已过期。",
    "Too many failed authentications from this address; retry in {retry} s.": "该地址认证失败次数过多，请 {retry} 秒后重试。",
    "This action needs one of the roles: {allowed}.": "此操作需要以下角色之一：{allowed}。",
    "Only the need's hospital and the commission read its ranked matches.": "仅需求所属医院和商务委可查看其匹配排名。",
    "Only the capability's organisation and the commission read its ranked matches.": "仅能力所属机构和商务委可查看其匹配排名。",
    "Clinical sites are added once the need's hospital has accepted the partnership.": "须待需求所属医院接受合作后，才能添加临床中心。",
    "The introduced company answers an introduction.": "对接推荐由被推荐的企业答复。",
    "The need's hospital accepts or declines an introduction.": "对接推荐由需求所属医院接受或谢绝。",
    "Only the hospital's staff and the lead company's staff may do this; the commission reads.": "仅医院和牵头企业的人员可执行此操作；商务委仅可查看。",
    "A participant records its own milestones only.": "参与方只能记录自己的里程碑。",
    "Only the engagement's parties record milestones; the commission reads.": "仅合作各方可记录里程碑；商务委仅可查看。",
    "A '{kind}' record is certified by {owner_name}: only {owner_name} records it.": "“{kind}”记录由{owner_name}出具，只能由{owner_name}记录。",
    "Entering '{target}' is confirmed by {who}: {who} takes this step.": "进入“{target}”须由{who}确认，由{who}执行此步。",
    "Engagement documents are for its parties and the commission.": "合作文件仅供合作各方和商务委查看。",
    "Only enterprises, labs and platforms register capabilities.": "仅企业、实验室和公共平台可登记能力。",
    # versions, sorting
    "Send the version you read, as 'version' in the body or an If-Match header.": "请提交读取时的版本号（请求体中的 version 或 If-Match 请求头）。",
    "Version {expected} is stale; the current version is {obj_version}. Reload and retry.": "版本 {expected} 已过期，当前版本为 {obj_version}。请刷新后重试。",
    "Somebody else changed this record meanwhile. Reload and retry.": "此记录已被他人修改，请刷新后重试。",
    "Cannot sort by '{name}'; choose one of: {allowed} (prefix '-' for descending).": "不能按“{name}”排序；可选：{allowed}（前加“-”为降序）。",
    # not found
    "Need {need_id} not found.": "未找到需求 {need_id}。", "Need {data_need_id} not found.": "未找到需求 {data_need_id}。",
    "Capability {cap_id} not found.": "未找到能力 {cap_id}。", "Capability {data_capability_id} not found.": "未找到能力 {data_capability_id}。",
    "Engagement {engagement_id} not found.": "未找到合作 {engagement_id}。", "Invitation {participant_id} not found.": "未找到邀请 {participant_id}。",
    "Milestone {milestone_id} not found.": "未找到里程碑 {milestone_id}。", "Document {document_id} not found.": "未找到文件 {document_id}。",
    "The file of document {document_id} is missing from storage.": "文件 {document_id} 的内容在存储中缺失。",
    "Introduction {intro_id} not found.": "未找到对接推荐 {intro_id}。", "Organisation {org_id} not found.": "未找到机构 {org_id}。",
    "User {user_id} not found.": "未找到用户 {user_id}。", "Token {token_id} not found.": "未找到令牌 {token_id}。",
    "Notification {notification_id} not found.": "未找到通知 {notification_id}。", "Delivery {delivery_id} not found.": "未找到投递记录 {delivery_id}。",
    "Webhook endpoint {endpoint_id} not found.": "未找到 Webhook 接收端 {endpoint_id}。",
    # needs, capabilities, organisations, users
    "A need cannot go from '{current}' to '{target}'; allowed: {allowed}.": "需求不能从“{current}”变为“{target}”；允许：{allowed}。",
    "A need cannot go from '{current}' to '{target}'; it is final.": "需求不能从“{current}”变为“{target}”；该状态已终结。",
    "An organisation keeps a name: name_zh or name_en.": "机构须保留名称：中文名或英文名。",
    "Organisation {data_organisation_id} does not exist.": "机构 {data_organisation_id} 不存在。",
    "Organisation {p_organisation_id} does not exist.": "机构 {p_organisation_id} 不存在。",
    "Role '{data_role}' belongs to organisations of kind {kinds}, not '{org_kind}'.": "角色“{data_role}”属于类型为 {kinds} 的机构，而非“{org_kind}”。",
    "A user with e-mail {email} exists already.": "邮箱为 {email} 的用户已存在。", "expires_at must be in the future.": "expires_at 须为将来的时间。",
    "Preferences belong to a person's organisation.": "偏好设置属于个人所在机构。",
    "This webhook URL is not accepted: {e}.": "不接受此 Webhook 地址：{e}。", "The endpoint is disabled; enable it first.": "该接收端已停用，请先启用。",
    # partnerships
    "A step cannot be dated in the future.": "步骤的日期不能晚于今天。",
    "The previous step happened on {when}; this one cannot be earlier.": "上一步发生于 {when}，此步不能早于它。",
    "The commission watches partnerships; it does not take part in them.": "商务委监督合作，不作为合作方参与。",
    "The hospital and the lead company are parties already.": "医院和牵头企业已是合作方。",
    "An animal facility is a platform or a lab.": "动物实验机构须为公共平台或实验室。",
    "{org_display_name} already takes part as '{p_role}'.": "{org_display_name} 已以“{p_role}”身份参与。",
    "A hospital proposes partnerships on its own needs.": "医院只能就本院的需求发起合作。",
    "A company proposes partnerships with its own capabilities.": "企业只能以本企业的能力发起合作。",
    "The lead is an enterprise, lab or platform.": "牵头方须为企业、实验室或公共平台。", "Capability {cap_id} is archived.": "能力 {cap_id} 已归档。",
    "Need {need_id} is {need_status}; partnerships start on open needs.": "需求 {need_id} 当前为“{need_status}”；合作只能就开放需求发起。",
    "Engagement {running_id} of this need and company is already under way.": "该需求与该企业的合作 {running_id} 已在进行中。",
    "Engagement {eng_id} is {eng_state}; acceptance belongs to a proposal.": "合作 {eng_id} 当前为“{eng_state}”；只能接受处于提议阶段的合作。",
    "The {side} has accepted already.": "{side}已接受。", "Engagement {eng_id} is {eng_state}.": "合作 {eng_id} 当前为“{eng_state}”。",
    "Invitation {p_id} is {p_status} already.": "邀请 {p_id} 已是“{p_status}”。",
    "The pathway is chosen with the step into '{PATHWAY_CHOSEN_BY}'; it is '{pathway}' now.": "路径在进入“{PATHWAY_CHOSEN_BY}”时选定；当前为“{pathway}”。",
    "Engagement {eng_id} is {eng_state}; it takes no more milestones.": "合作 {eng_id} 当前为“{eng_state}”，不再接受里程碑。",
    "The responsible party is the hospital, the lead company or a participant.": "责任方须为医院、牵头企业或参与方。",
    "A milestone cannot be dated in the future.": "里程碑的日期不能晚于今天。",
    "The partnership began on {began}; a milestone cannot be dated before it.": "合作始于 {began}，里程碑日期不能早于此。",
    "Attachments are limited to {max_bytes} bytes.": "附件不得超过 {max_bytes} 字节。", "The file is empty.": "文件为空。",
    "Attach PDF, PNG, JPEG, DOCX, ZIP or plain text.": "请上传 PDF、PNG、JPEG、DOCX、ZIP 或纯文本文件。",
    "The file is {kind}, not {declared}.": "文件实际为 {kind}，而非 {declared}。",
    "An engagement cannot go from '{current}' to '{target}'; allowed: {allowed}.": "合作不能从“{current}”进入“{target}”；允许：{allowed}。",
    "An engagement cannot go from '{current}' to '{target}'; '{current}' is final.": "合作不能从“{current}”进入“{target}”；“{current}”已终结。",
    "Entering '{target}' needs: {missing}.": "进入“{target}”还需要：{missing}。",
    "Give the reason for '{target}' in the comment.": "请在说明中写明“{target}”的原因。",
    # guards
    "acceptance by the hospital and the lead company": "医院和牵头企业的接受", "acceptance by the hospital": "医院的接受",
    "acceptance by the lead company": "牵头企业的接受",
    "a recorded animal-study protocol (milestone 'animal_protocol' with its protocol number)": "已记录的动物实验方案（里程碑“动物实验方案”，附方案编号）",
    "its ethics (IACUC) approval number (milestone 'iacuc_approval' with the approval number)": "动物伦理（IACUC）批准编号（里程碑“动物伦理批准”，附批准编号）",
    "a participating animal facility (a participant in role 'animal_facility', or an active capability of the lead company "
    "listing the 'animal_trial' stage)": "参与的动物实验机构（角色为“动物实验机构”的参与方，或牵头企业列有“动物实验”阶段的有效能力）",
    "a completed animal-trial report (milestone 'animal_trial_report')": "已完成的动物实验报告（里程碑“动物实验报告”）",
    "a clinical ethics approval (milestone 'clinical_ethics_approval' with its approval number)": "临床伦理批准（里程碑“临床伦理批准”，附批准编号）",
    "a clinical-evaluation report (milestone 'clinical_evaluation_report')": "临床评价报告（里程碑“临床评价报告”）",
    "an NMPA registration certificate number (milestone 'registration_certificate', e.g. 国械注准20243070001)": "国家药监局注册证编号（里程碑“注册证”，如 国械注准20243070001）",
    "an NMPA Class I filing number (milestone 'filing_record', e.g. 沪械备20240012号)": "第一类医疗器械备案编号（里程碑“备案凭证”，如 沪械备20240012号）",
    "the hospital's admission approval (milestone 'admission_approval': procurement or device committee)": "医院的准入批准（里程碑“医院准入批准”：采购或器械委员会）",
    "(evidence of kind {kinds} counts with its document attached)": "（{kinds} 类证据须附文件方可计入）",
    # introductions
    "Need {need_id} is {need_status}; introductions are for open needs.": "需求 {need_id} 当前为“{need_status}”；对接推荐仅适用于开放需求。",
    "Capability {cap_id} does not exist or is archived.": "能力 {cap_id} 不存在或已归档。",
    "Need {need_id} was introduced to capability {cap_id} already.": "需求 {need_id} 已推荐给能力 {cap_id}。",
    "Introduction {intro_id} is {intro_status}; the hospital has decided.": "对接推荐 {intro_id} 当前为“{intro_status}”；医院已作出决定。",
    "Introduction {intro_id} is {intro_status}; the hospital decides once the company is interested.": "对接推荐 {intro_id} 当前为“{intro_status}”；企业表示感兴趣后由医院决定。",
    # conversations
    "Only the conversation's parties write in it; the commission reads.": "仅对话双方可发言；商务委仅可查看。",
    "No conversation on need {need_id} with organisation {company_org_id}.": "需求 {need_id} 与机构 {company_org_id} 之间尚无对话。",
    "The conversation was opened meanwhile; send the message again.": "对话刚被开启，请重新发送消息。",
    "No attachment on message {message_id}.": "消息 {message_id} 没有附件。",
    "The file of {what} is missing from storage.": "{what}的内容在存储中缺失。",
    "document {document_id}": "文件 {document_id} ", "the attachment of message {message_id}": "消息 {message_id} 的附件",
    # capability import (a spreadsheet checked row by row before anything is stored)
    "The file could not be read as {kind}; save it again as CSV (UTF-8) or XLSX.": "无法按 {kind} 读取此文件；请另存为 CSV（UTF-8）或 XLSX 后重试。",
    "Upload a CSV or XLSX file (a .csv or .xlsx name).": "请上传 CSV 或 XLSX 文件（文件名以 .csv 或 .xlsx 结尾）。",
    "The first row must name the columns; 'title' (标题) and 'description' (描述) are needed.": "第一行须为列名，且须包含“标题”（title）和“描述”（description）两列。",
    "At most {max_rows} rows per import; this file has more. Split it.": "每次最多导入 {max_rows} 行，此文件超出，请拆分后导入。",
    "The file has no rows below its header.": "文件在列名行之下没有数据。",
    "Reference {ref} appears in row {line} already.": "编号 {ref} 已在第 {line} 行出现。",
    "Your catalogue has a capability with reference {ref} already.": "您的能力目录中已有编号为 {ref} 的能力。",
    "The preview has expired or was changed; upload the file again.": "预览已失效或被改动，请重新上传文件。",
    "{count} rows have errors; nothing was stored.": "{count} 行有错误，未保存任何内容。",
    # a match's reasons
    "shared concepts: {concepts}": "共同概念：{concepts}", "does not meet: {conditions}": "不满足：{conditions}",
    "no specific shared concept; semantic similarity of the texts": "无明确的共同概念；依据文本语义相似度",
    "the partner type requested": "所需合作方类型", "the stages asked for": "所需阶段", "the region required": "所需地区",
    "the tracks": "赛道", "the certifications required": "所需认证",
    # words used as parameters: parties, states, statuses (not extracted: they are values, not sentences)
    "the hospital": "医院", "the lead company": "牵头企业", "the animal facility": "动物实验机构",
    "hospital": "医院", "lead": "牵头企业",
    "proposed": "已提议", "intent_signed": "达成合作意向", "training_observation": "培训与临床观摩", "rnd": "研发",
    "animal_trial": "动物实验", "clinical_evaluation": "上市前临床评价", "clinical_performance": "临床性能评价",
    "filing": "备案", "registration": "注册", "hospital_admission": "医院准入", "clinical_use": "临床应用",
    "on_hold": "暂停", "withdrawn": "撤回", "terminated": "终止",
    "draft": "草稿", "open": "开放", "in_partnership": "合作中", "closed": "已关闭",
    "invited": "已邀请", "active": "参与中", "declined": "已谢绝",
    "introduced": "已推荐", "interested": "感兴趣", "not_interested": "不感兴趣", "accepted": "已接受",
}

OUT = Path(__file__).parent / "zh" / "LC_MESSAGES" / "messages.po"


def main() -> None:
    cat = Catalog(locale="zh_Hans_CN", project="clinmatch", copyright_holder="clinmatch", charset="utf-8")
    for msgid, msgstr in ZH.items():
        cat.add(msgid, msgstr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("wb") as fh:
        write_po(fh, cat, width=0, omit_header=False, sort_output=False)


if __name__ == "__main__":
    main()
