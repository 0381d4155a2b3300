"""Reports: the JSON envelope every measuring command writes, its io, and terminal rendering."""
