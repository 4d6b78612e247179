"""The data resource catalogue (政务数据资源目录); other contexts use wanshi.datahub.catalogue.api."""
