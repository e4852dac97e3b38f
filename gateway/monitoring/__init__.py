"""What the operator watches from outside: the workers' metrics gathered for the API."""
