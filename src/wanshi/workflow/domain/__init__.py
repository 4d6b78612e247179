"""Pure domain of the process centre: value objects and rules with no persistence or web."""
