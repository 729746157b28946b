"""Model-facing inference, one way: docs → units (units.py) → forward scores (the component's
thinc model) → fill-in rows (fill.py) → substitutes (substitutes.py) and corrections
(correction.py). Each step returns plain records that the component writes to the docs."""
