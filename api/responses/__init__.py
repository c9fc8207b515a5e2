"""What the REST API answers: one pydantic model per JSON response, declared on its route for `/docs`.

The keys and values are those the routes' hand-built dicts have always had (the consoles' scripts and the
command line read them); a model documents and checks them, never renames them.
"""
