"""HTTP routes, grouped by business area."""
