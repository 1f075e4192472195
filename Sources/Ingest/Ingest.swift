// Scraping (issue 6) and log tailing (issue 5) land here.
