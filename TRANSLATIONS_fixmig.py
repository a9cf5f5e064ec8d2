"""New msgids of the migration wizard's review fixes (h-fixmig), with Simplified Chinese."""
T = {
    "Status:": "状态：",
    "The policies were written, but reading the bindings failed: %(message)s":
        "策略已写入，但读取绑定失败：%(message)s",
    "A later migration of this namespace was started: this completed migration cannot be rolled back.":
        "此命名空间已开始了一个更新的迁移：这个已完成的迁移不能回滚。",
}
