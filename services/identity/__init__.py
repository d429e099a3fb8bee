"""identity: enterprises, users, passwords, captchas, sessions and the login audit."""
