"""Knowledge base: categories and sections, articles in Russian and English, search."""
