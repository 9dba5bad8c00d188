"""Targets as JSON: the list with progress and writes through the targets' services (targets), the
revenue decomposition (decompose), staff's counts (records) and promotions. Scoped like the pages
(teams.selectors.scoping): targets by `target_list`, what a viewer may not see answers 404, what
their role may never do 403. Money is a string with two decimals, rates fractions (0.35), counts
numbers. The schema states what each input field accepts (fields)."""
