"""江淮大数据中心: catalogue, aggregation, analytical store, quality, base registries (issue #3)."""
