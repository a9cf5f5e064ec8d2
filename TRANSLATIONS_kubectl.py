"""New msgids of the kubectl/terminal work (issue 16) with their Simplified Chinese."""
T = {
    "Terminal": "终端",
    "Terminal of pod %(name)s": "Pod %(name)s 的终端",
    "Open": "打开",
    "Copy selection": "复制选中内容",
    "Paste": "粘贴",
    "Connecting…": "正在连接…",
    "Connected to container %(container)s. Copy: Ctrl+Shift+C; paste: Ctrl+Shift+V.":
        "已连接到容器 %(container)s。复制：Ctrl+Shift+C；粘贴：Ctrl+Shift+V。",
    "Terminal closed.": "终端已关闭。",
    "The terminal connection closed.": "终端连接已断开。",
    "The browser did not allow reading the clipboard; paste with Ctrl+Shift+V or the browser menu.":
        "浏览器不允许读取剪贴板；请使用 Ctrl+Shift+V 或浏览器菜单粘贴。",
    "The pod has no container named %(wanted)s.": "该 Pod 中没有名为 %(wanted)s 的容器。",
    "The pod has no container named %(name)s.": "该 Pod 中没有名为 %(name)s 的容器。",
    "This container has no shell (sh): its image does not include one, so no terminal can be opened in it.":
        "该容器没有 shell（sh）：其镜像中不包含 shell，因此无法在其中打开终端。",
    "The shell exited.": "Shell 已退出。",
    "The terminal ended: %(message)s": "终端已结束：%(message)s",
    "The terminal reached its time limit of %(minutes)s minutes and was closed.":
        "终端已达到 %(minutes)s 分钟的时间上限，已被关闭。",
    "The terminal reached its time limit of %(seconds)s seconds and was closed.":
        "终端已达到 %(seconds)s 秒的时间上限，已被关闭。",
    "Not a terminal input.": "不是有效的终端输入。",
    "The terminal session has ended.": "终端会话已结束。",
}
