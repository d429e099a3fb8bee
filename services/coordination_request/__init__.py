"""coordination-request: the 享惠受阻协调申请 aggregate, its status machine, history, numbering and queries."""
