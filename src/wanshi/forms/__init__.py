"""The forms centre (统一电子表单中心, PS-7): versioned form definitions, checked by the server."""
