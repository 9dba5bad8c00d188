"""Target pages: the list (as a tree), one target, its form (targets), the revenue decomposition
(decompose), promotions, staff's counts (records) and the alerts; rows holds what they share.

Thin: parse the query or the form, call the targets' selectors or services, render. What a viewer
may not see answers 404; what their role may never do answers 403."""
