/*
 * apierr.c - the verify API's error table (see apierr.h, spec/verifier.md
 * section 5.1).
 *
 * Rows shared with the HTTP layer (not_found ... internal) repeat its code
 * and status so a handler can answer them too; the unit test checks they
 * agree. Hints say what the caller can do, in Chinese first.
 */
#include "apierr.h"

#include <string.h>

const svc_apierr verifier_errors[VE_COUNT] = {
    [VE_NOT_FOUND] = {"not_found", 404, "没有这个地址（POST /v1/verify、POST /v1/challenges、GET /healthz、GET /metrics、GET /scan）",
                      "no such route (POST /v1/verify, POST /v1/challenges, GET /healthz, GET /metrics, GET /scan)"},
    [VE_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405, "此地址不接受该方法（见 Allow）",
                               "this path does not take that method (see Allow)"},
    [VE_BODY_TOO_LARGE] = {"body_too_large", 413, "请求体超过 8 KiB", "request body over 8 KiB"},
    [VE_URI_TOO_LONG] = {"uri_too_long", 414, "URL 超过 512 字节", "URL over 512 bytes"},
    [VE_MALFORMED_JSON] = {"malformed_json", 400, "JSON 请求体须为 {\"qr\": \"...\"}（见 detail）",
                           "a JSON body must be {\"qr\": \"...\"} (detail says what is wrong)"},
    [VE_INTERNAL] = {"internal", 500, "服务内部错误，请稍后再试", "internal error; try again later"},
    [VE_MISSING_KEY] = {"missing_key", 401, "需要 Authorization: Bearer API 密钥（ecred-verifierd key add）",
                        "Authorization: Bearer API-KEY is required (ecred-verifierd key add)"},
    [VE_INVALID_KEY] = {"invalid_key", 401, "API 密钥无效或已被移除", "the API key is not valid or was removed"},
    [VE_EMPTY_BODY] = {"empty_body", 400, "请求体为空：请发送二维码文本或 {\"qr\": \"...\"}",
                       "the body is empty: send the QR text, or JSON {\"qr\": \"...\"}"},
    [VE_CACHE_UNAVAILABLE] = {"cache_unavailable", 503, "尚无可用的信任数据，请稍后再试（见服务日志）",
                              "no usable synced trust data yet; retry later (see the daemon's log)"},
    [VE_RATE_LIMITED] = {"rate_limited", 429, "此密钥请求过多，请按 Retry-After 的秒数后再试",
                         "too many requests with this key; retry after Retry-After seconds"},
    [VE_UNSUPPORTED_IMAGE] = {"unsupported_image", 415, "照片须为 PNG 或 JPEG", "the photo must be PNG or JPEG"},
    [VE_IMAGE_TOO_LARGE] = {"image_too_large", 413, "照片超过 4096 像素宽或高，或超过 1200 万像素",
                            "the photo is over 4096 pixels wide or high, or over 12 megapixels"},
    [VE_NO_CODE_FOUND] = {"no_code_found", 422, "照片中没有可读的二维码：请在光线好的地方拍下整个二维码",
                          "no readable QR code in the photo: take it in good light with the whole code in view"},
    [VE_SCAN_BUSY] = {"scan_busy", 503, "正在处理其他照片，请按 Retry-After 的秒数后再试",
                      "other photos are being read; retry after Retry-After seconds"},
    [VE_BAD_CHALLENGE] = {"bad_challenge", 400, "challenge 须为 POST /v1/challenges 返回的 32 位十六进制标识",
                          "challenge must be the 32-hex-digit id POST /v1/challenges returned"},
    [VE_CHALLENGES_FULL] = {"challenges_full", 503, "未完成的挑战过多，请稍后再试",
                            "too many outstanding challenges; retry shortly"},
    [VE_BAD_QUERY] = {"bad_query", 400, "未知或重复的查询参数（见 detail：此地址接受哪些）",
                      "an unknown or repeated query argument (detail says what this route takes)"},
};

void vreply_error(svc_req *r, verr_id id, const char *detail)
{
    svc_reply_error(r, &verifier_errors[id], detail);
}

verr_id verr_by_code(const char *code)
{
    for (size_t i = 0; code && i < VE_COUNT; i++)
        if (strcmp(verifier_errors[i].code, code) == 0)
            return (verr_id)i;
    return VE_INTERNAL;
}
