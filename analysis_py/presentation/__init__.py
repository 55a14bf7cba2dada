"""What people read: the terminal summary and the HTML report.

Both read the stored result columns, with the words and number formats they share, and
recompute nothing.
"""
