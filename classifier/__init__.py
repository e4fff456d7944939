"""Dataset readers, recognizers, column classification and grading, and the reviewed catalog."""
