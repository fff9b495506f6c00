"""The `luoshi` command line: thin typer commands over `luoshi.facts` and `luoshi.engine`."""
