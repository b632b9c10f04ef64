"""The focus-group record reader: a .docx taken apart safely, its parts, answers and pictures found."""
