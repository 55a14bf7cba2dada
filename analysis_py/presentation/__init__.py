"""What people read: the terminal summary and the HTML report, with the words and number
formats they share. Reads the stored result columns and recomputes nothing.
"""
