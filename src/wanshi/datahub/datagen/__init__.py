"""Synthetic base-registry data (人口库, 法人库) valid at any scale, with labelled defects."""
