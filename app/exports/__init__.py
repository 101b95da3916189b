"""Exports (seed 003 table 8): a plugin's source yields a :class:`~.book.Book`, and a format
of ``formats`` renders it to one file (EPUB, PDF, DOCX, HTML or Markdown)."""
