"""The storage layer: schema, migrations, access scoping, caches, both backends."""
