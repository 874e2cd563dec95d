"""What the emulator answers: error codes, messages and Request-ID sub-codes, in one place.

Sub-codes marked "documented" appear in WeChat Pay's own troubleshooting handbook
(wechatpay-api.md section 5.2); the others are the sandbox's choice, because the real ones for
these situations were never published. Clients must branch on `code` and `message`, not on them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

JsonObject = dict[str, Any]

SUB_CODE_OK = 0
SUB_CODE_PARAM = 268435461  # documented: 参数非法
SUB_CODE_OUT_OF_RANGE = 268435464  # documented: 参数超出取值范围
SUB_CODE_NOT_FOUND = 268578608  # documented: 当前访问对象不存在
SUB_CODE_IDEMPOTENCY_MISMATCH = 268578927  # documented: 相同单号但请求数据不一致
SUB_CODE_RATE_LIMIT = 270924289  # documented: 频率过快
SUB_CODE_HEADER = 268435458
SUB_CODE_SIGN = 268435459
SUB_CODE_METHOD = 268435460
SUB_CODE_SYSTEM = 268435457
SUB_CODE_STOCK_STOPPED = 268578001
SUB_CODE_STOCK_DEACTIVATED = 268578002
SUB_CODE_STOCK_AUDITING = 268578003
SUB_CODE_STOCK_IN_BUNDLE = 268578004
SUB_CODE_STALE_CURRENT = 268578005
SUB_CODE_BELOW_SENT = 268578006
SUB_CODE_DAILY_UNLIMITED = 268578007
SUB_CODE_BELOW_TODAY = 268578008
SUB_CODE_NO_PLATFORM_CERT = 268578009
SUB_CODE_BODY_TOO_LARGE = 268435465
# Invented: the general APIv3 table documents 403 NO_AUTH (权限异常) but no sub-code for it.
SUB_CODE_NO_AUTH = 268578010

MESSAGE_MISSING_ACCEPT = "Http头缺少Accept或User-Agent"
MESSAGE_CONTENT_TYPE = "Http头Content-Type值必须为application/json"
MESSAGE_AUTH_FORMAT = "Http头Authorization值格式错误,请参考《微信支付商户REST API签名规则》"
MESSAGE_UNKNOWN_MCHID = "Http头Authorization中的mchid不存在或未开通APIv3"
MESSAGE_WRONG_SERIAL = "Http头Authorization中的serial_no不是该商户的有效API证书序列号"
MESSAGE_BAD_TIMESTAMP = "Http头Authorization中的timestamp必须是Unix时间戳(秒)"
MESSAGE_CLOCK_SKEW = "Http头Authorization中的timestamp与发起请求的时间不得超过5分钟"
MESSAGE_BAD_SIGNATURE = "Http头Authorization中的signature验证不通过,签名错误"
MESSAGE_WECHATPAY_SERIAL = "Http头Wechatpay-Serial不是该商户的微信支付公钥ID"
MESSAGE_WECHATPAY_SERIAL_OR_CERT = (
    "Http头Wechatpay-Serial不是该商户的微信支付公钥ID或平台证书序列号"
)
# Quoted from the brand pages' description of the required Wechatpay-Serial header.
MESSAGE_BRAND_WECHATPAY_SERIAL = "请传入brand_id对应的微信支付公钥ID"
MESSAGE_UNKNOWN_BRAND = "Http头Authorization中的brand_id不存在或未开通品牌API"
MESSAGE_WRONG_BRAND_SERIAL = "Http头Authorization中的serial_no不是该品牌的有效品牌API证书序列号"
MESSAGE_NO_PLATFORM_CERT = "无可用的平台证书,请在商户平台-API安全申请使用微信支付公钥。"
MESSAGE_RATE_LIMIT = "请求超过接口频率限制"
MESSAGE_NO_AUTH = "权限异常"
MESSAGE_BODY_TOO_LARGE = "请求体过大"
MESSAGE_COUPON_NOT_FOUND = "未找到 product_coupon_id 对应的商品券"
MESSAGE_STOCK_NOT_FOUND = "未找到 stock_id 对应的商品券批次"
MESSAGE_BUNDLE_NOT_FOUND = "未找到 stock_bundle_id 对应的批次组"
MESSAGE_IDEMPOTENCY_MISMATCH = "相同单号但请求数据不一致"
MESSAGE_OUT_OF_RANGE = "参数超出取值范围"
MESSAGE_SYSTEM = "系统异常,请稍后重试"
# The only two business errors the update-budget page's 错误码 table lists (seed 000_...): every
# business refusal answers one of these two messages, in both modes. The lenient sandbox adds
# which rule it was in `detail.issue` (the ISSUE_* texts); the strict one adds nothing.
MESSAGE_EXPIRED = "已过期的批次不可修改发放预算"
MESSAGE_BUSINESS_RULE = "传入参数不符合业务规则"
ISSUE_STOCK_DEACTIVATED = "已失效的批次不可修改发放预算"
ISSUE_STOCK_AUDITING = "审批中的批次不可修改发放预算"
ISSUE_STOCK_IN_BUNDLE = "批次组内的批次不可使用本接口,请使用修改商品券批次组发放预算API"
ISSUE_STALE_CURRENT = "{field} 与批次当前值 {current} 不一致,请先查询批次详情获取最新值"
ISSUE_BELOW_SENT = "目标发放次数总上限不得小于当前已发放总次数"
ISSUE_DAILY_UNLIMITED = "批次未限制每日发放次数,无法修改为限制次数"
# Quoted from the bundle page (doc 4016280642), which states the rule for bundles explicitly.
ISSUE_BUNDLE_DAILY_UNLIMITED = "如果批次当前未限制每日发放次数(创建时未传入),则无法修改为限制次数"
ISSUE_BUNDLE_STATE = "批次组内批次 {stock_id} 的状态为 {state},不可修改发放预算"
ISSUE_BELOW_TODAY = "目标每日发放次数上限不得小于当日已发放次数"


@dataclass
class Reply:
    """One answer before it is serialised and signed; the flags feed requests.jsonl."""

    status: int
    body: JsonObject
    sub_code: int = SUB_CODE_OK
    applied: bool = False
    replay: bool = False
    fault: str | None = None
    extra_headers: dict[str, str] | None = None

    @property
    def code(self) -> str | None:
        if 200 <= self.status < 300:
            return None
        return str(self.body.get("code", ""))


class ApiFailure(Exception):
    """Raised anywhere in processing; becomes the error body `{"code","message"[,"detail"]}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        sub_code: int,
        detail: JsonObject | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.sub_code = sub_code
        self.detail = detail

    def reply(self) -> Reply:
        body: JsonObject = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return Reply(status=self.status, body=body, sub_code=self.sub_code)


def param_error(
    field: str,
    value: Any,
    issue: str,
    *,
    location: str = "body",
    message: str | None = None,
    sub_code: int = SUB_CODE_PARAM,
) -> ApiFailure:
    """400 PARAM_ERROR; `field` is a JSON pointer in the body or the name of a query parameter."""
    detail: JsonObject = {"field": field, "value": value, "issue": issue, "location": location}
    return ApiFailure(400, "PARAM_ERROR", message or f"参数错误: {issue}", sub_code, detail)


def out_of_range(field: str, value: Any, issue: str, *, location: str = "body") -> ApiFailure:
    return param_error(
        field,
        value,
        issue,
        location=location,
        message=MESSAGE_OUT_OF_RANGE,
        sub_code=SUB_CODE_OUT_OF_RANGE,
    )


def invalid_request(message: str, sub_code: int) -> ApiFailure:
    return ApiFailure(400, "INVALID_REQUEST", message, sub_code)


def business_refusal(
    issue: str,
    sub_code: int,
    *,
    strict: bool,
    field: str | None = None,
    value: Any = None,
    message: str = MESSAGE_BUSINESS_RULE,
) -> ApiFailure:
    """400 INVALID_REQUEST with one of the page's two documented messages.

    Lenient: `detail` says which rule (a hint real WeChat Pay may or may not give). Strict: the
    bare message, so a client can only learn what happened by reading the stock again.
    """
    if strict:
        return ApiFailure(400, "INVALID_REQUEST", message, sub_code)
    detail: JsonObject = {"issue": issue, "location": "body"}
    if field is not None:
        detail = {"field": field, "value": value} | detail
    return ApiFailure(400, "INVALID_REQUEST", message, sub_code, detail)


def sign_error(message: str, detail: JsonObject | None = None) -> ApiFailure:
    return ApiFailure(401, "SIGN_ERROR", message, SUB_CODE_SIGN, detail)


def not_found(message: str) -> ApiFailure:
    return ApiFailure(404, "NOT_FOUND", message, SUB_CODE_NOT_FOUND)


def encode(body: JsonObject) -> bytes:
    """The wire form: compact UTF-8 JSON, Chinese kept readable."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
