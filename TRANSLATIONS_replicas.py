T = {
    "request id": "请求 ID",
}
