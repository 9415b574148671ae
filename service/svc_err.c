/*
 * svc_err.c - the rows the HTTP layer answers with itself (see svc_err.h).
 */
#include "svc_err.h"

const svc_apierr svc_layer_errors[SVC_E_COUNT] = {
    [SVC_E_NOT_FOUND] = {"not_found", 404, "没有这个地址", "no such route"},
    [SVC_E_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405, "此地址不接受该方法（见 Allow）",
                                  "this path does not take that method (see Allow)"},
    [SVC_E_BODY_TOO_LARGE] = {"body_too_large", 413, "请求体超过上限", "the request body is over the cap"},
    [SVC_E_URI_TOO_LONG] = {"uri_too_long", 414, "URL 超过 512 字节", "URL over 512 bytes"},
    [SVC_E_MALFORMED_JSON] = {"malformed_json", 400, "请求体须为一个 JSON 对象",
                              "the body must be one JSON object"},
    [SVC_E_INTERNAL] = {"internal", 500, "服务内部错误，请稍后再试", "internal error; try again later"},
};
