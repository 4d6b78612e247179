"""Master data (主数据): record linkage and golden records over the analytical store (issue #3 item 7)."""
