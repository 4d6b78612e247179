"""Notifications: the in-app inbox, and SMS and e-mail through gateways (sandbox by default).

Other contexts import ``wanshi.notify.api`` only.
"""
