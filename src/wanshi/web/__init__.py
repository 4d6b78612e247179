"""Web layer: app factory, middleware, base templates; context routers live in each context's web.py."""
