"""Full-text search with Russian and English stemming, one interface, two backends.

Text is analysed in Python (Snowball stemmers via PyStemmer, plus a small synonym list
for words stemming cannot relate, like «войти» and «вход»), and the stems are indexed by
SQLite FTS5 in embedded mode or by a PostgreSQL tsvector (``simple`` configuration) with
a GIN index in scale-out mode. The same analysis on both backends gives the same results.
"""
