T = {
    "Use an https:// API endpoint: the cluster's credential is never sent over plain HTTP.":
        "请使用 https:// 的 API 端点：集群凭证绝不会通过明文 HTTP 发送。",
    "Cluster %(name)s has a plain http:// API endpoint; its credential is never sent over plain HTTP. "
    "Ask the operator for an https:// endpoint.":
        "集群 %(name)s 的 API 端点为明文 http://，其凭证绝不会通过明文 HTTP 发送。请联系运维人员改为 https:// 端点。",
    "API server answered a poll": "API Server 响应了轮询",
    "API server did not answer two polls in a row": "API Server 连续两次未响应轮询",
}
