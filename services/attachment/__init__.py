"""attachment: files of an application; metadata in PostgreSQL, bytes in S3 through the MinIO client."""
