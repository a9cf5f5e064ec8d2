"""New msgids of the audit timeline (issue 19 item 5) with their Simplified Chinese."""
T = {
    "Kubernetes API (kubeconfig)": "Kubernetes API（KubeConfig）",
    "Request": "请求",
    "HTTP status": "HTTP 状态码",
    "%(ms)s ms": "%(ms)s 毫秒",
    "%(counter)s request not recorded (the hub's audit buffer was full)":
        ("%(counter)s 个请求未记录（接入中心的审计缓冲区已满）",),
}
