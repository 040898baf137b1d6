"""The pieces of ``ipoke eval`` (:func:`ipoke_core.evaluate.evaluate`, which lists the steps):

- ``clips``: the test clips (:class:`EvalClip`) and how they are read from a data set;
- ``methods``: the rows' video makers (:class:`Method`: a checkpoint, the baselines);
- ``plan``: which metrics can be computed on these clips, which clips get heatmaps, the progress count;
- ``rows``: the scores of one method's row and of the ground-truth row;
- ``truth``: the simulator's own answers and each method's agreement with them;
- ``notes``: the notes under the table;
- ``report``: the table itself (markdown, CSV) and writing it.
"""
