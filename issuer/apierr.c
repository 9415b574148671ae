/*
 * apierr.c - the issuer's API error table (see apierr.h, spec/api.md).
 *
 * Rows shared with the HTTP layer (not_found ... internal) repeat its code
 * and status so a handler can answer them too; the test checks they agree.
 */
#include "apierr.h"

const svc_apierr issuer_errors[IE_COUNT] = {
    [IE_NOT_FOUND] = {"not_found", 404, "没有该地址或该记录", "no such route or record"},
    [IE_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405, "此地址不接受该方法（见 Allow）",
                               "this path does not take that method (see Allow)"},
    [IE_BODY_TOO_LARGE] = {"body_too_large", 413, "请求体超过 64 KiB", "request body over 64 KiB"},
    [IE_URI_TOO_LONG] = {"uri_too_long", 414, "URL 超过 512 字节", "URL over 512 bytes"},
    [IE_MALFORMED_JSON] = {"malformed_json", 400, "请求体须为一个 JSON 对象",
                           "the body must be one JSON object"},
    [IE_INTERNAL] = {"internal", 500, "服务内部错误，请稍后再试", "internal error; try again later"},
    [IE_MISSING_TOKEN] = {"missing_token", 401, "需要 Authorization: Bearer 令牌",
                          "Authorization: Bearer TOKEN is required"},
    [IE_INVALID_TOKEN] = {"invalid_token", 401, "令牌无效", "the bearer token is not valid"},
    [IE_FORBIDDEN] = {"forbidden", 403, "该角色不能使用此功能", "this role may not use this route"},
    [IE_INVALID_TRACKING_CODE] = {"invalid_tracking_code", 401, "需要有效令牌或该申请的查询码",
                                  "a valid token or the application's tracking code is required"},
    [IE_BAD_IDEMPOTENCY_KEY] = {"bad_idempotency_key", 400,
                                "Idempotency-Key 须为 1..64 个 A-Z a-z 0-9 . _ : - 字符",
                                "Idempotency-Key must be 1..64 characters of A-Z a-z 0-9 . _ : -"},
    [IE_UNEXPECTED_BODY] = {"unexpected_body", 422, "此操作不接受请求体", "this route takes no body"},
    [IE_INVALID_FIELD] = {"invalid_field", 422, "字段不符合要求（见 detail）",
                          "a field is invalid (detail says which and why)"},
    [IE_MISSING_FIELD] = {"missing_field", 422, "缺少必填字段（见 detail）",
                          "a required field is missing (detail names it)"},
    [IE_UNKNOWN_FIELD] = {"unknown_field", 422, "含有此处不接受的字段（见 detail）",
                          "the body has a field this route does not take (detail names it)"},
    [IE_IDEMPOTENCY_KEY_REUSED] = {"idempotency_key_reused", 409, "该 Idempotency-Key 已用于另一请求",
                                   "this Idempotency-Key was used for a different request"},
    [IE_REPLACED_CREDENTIAL_INVALID] = {"replaced_credential_invalid", 409, "被替换的证件已失效",
                                        "the credential to replace is no longer valid"},
    [IE_APPLICATION_REJECTED] = {"application_rejected", 409, "该申请已被驳回",
                                 "the application was rejected"},
    [IE_COMMITMENT_UNCONFIRMED] = {"commitment_unconfirmed", 409, "亲属关系承诺书尚未确认",
                                   "the kinship commitment is not confirmed yet"},
    [IE_NO_COMMITMENT] = {"no_commitment", 409, "该申请没有亲属关系承诺书",
                          "this application has no kinship commitment"},
    [IE_INVALID_TRANSITION] = {"invalid_transition", 409, "当前状态下不能执行该操作",
                               "not possible in the current state"},
    [IE_CANNOT_ISSUE] = {"cannot_issue", 422, "无法签发：证件数据不符合格式",
                         "the credential could not be issued from these fields"},
    [IE_REGISTRY_UNAVAILABLE] = {"registry_unavailable", 503, "登记库暂不可用，请重试",
                                 "the registry is unavailable; retry"},
    [IE_STATUS_UNAVAILABLE] = {"status_unavailable", 503, "状态列表暂不可用，请重试",
                               "the status list could not be built; retry"},
    [IE_HISTORY_UNSUPPORTED] = {"history_unsupported", 501, "本服务不提供历史状态列表",
                                "this server keeps no status list history (?time=)"},
    [IE_RESIDENT_DISABLED] = {"resident_signin_disabled", 404, "本服务未开启居民登录",
                              "resident sign-in is not configured on this server"},
    [IE_NOT_SIGNED_IN] = {"not_signed_in", 401, "请先登录（或登录已过期）",
                          "sign in first (or your session has ended)"},
    [IE_CSRF_TOKEN_INVALID] = {"csrf_token_invalid", 403, "页面已过期，请刷新后重试",
                               "X-CSRF-Token is missing or not this session's; reload and retry"},
    [IE_LOGIN_EXPIRED] = {"login_expired", 400, "登录已过期或已完成，请重新登录",
                          "this sign-in has expired or was already used; sign in again"},
    [IE_ID_TOKEN_REJECTED] = {"id_token_rejected", 401, "身份平台的凭据未通过核验（见 detail）",
                              "the identity provider's ID token was refused (detail says why)"},
    [IE_IDENTITY_PROVIDER_UNAVAILABLE] = {"identity_provider_unavailable", 502,
                                          "身份平台暂不可用，请稍后再试",
                                          "the identity provider could not be reached; try again later"},
    [IE_IDENTITY_FROM_SIGNIN] = {"identity_from_signin", 422, "姓名和身份证号来自登录身份，不能填写或修改",
                                 "name and ID number come from your sign-in and cannot be typed or changed"},
    [IE_TOO_MANY_LOGINS] = {"too_many_logins", 503, "登录请求过多，请稍后再试",
                            "too many sign-ins in progress; try again in a minute"},
};

void ireply_error(svc_req *r, ierr_id id, const char *detail)
{
    svc_reply_error(r, &issuer_errors[id], detail);
}
