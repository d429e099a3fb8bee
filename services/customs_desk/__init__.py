"""customs-desk: the customs side; receives submitted applications (by event) and holds the officers' cases."""
