# PDF import speed against pdftotext on the same files, and peak memory of a 5,000-page import
# (tests/bench/importers_pdf.cpp).
lectern_add_bench(importers_pdf_bench SOURCES importers_pdf.cpp LIBS lectern_importers Qt6::Gui)
