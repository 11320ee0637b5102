"""Pre-flight lint of a launcher pipeline YAML against the target model's config.json."""
