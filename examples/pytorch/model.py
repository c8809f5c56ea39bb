"""The LSTM language model of quire, in PyTorch.

The module layout is that of PyTorch's word-language-model example (``RNNModel``: ``encoder``,
``rnn``, ``decoder``), so its ``state_dict`` is what ``quire export --format safetensors`` writes
and ``quire import`` reads. The model is quire's (Zaremba et al. 2014): embedding width equals
the hidden size, every parameter uniform in [-init_scale, init_scale], dropout on the
non-recurrent connections (embedding -> layer 0, between layers, last layer -> softmax).
"""

import torch
from torch import nn


class RNNModel(nn.Module):
    def __init__(self, ntoken: int, nhid: int, nlayers: int, dropout: float = 0.0, init_scale: float = 0.1):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, nhid)
        self.rnn = nn.LSTM(nhid, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nlayers = nlayers
        self.nhid = nhid
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-init_scale, init_scale)

    def forward(self, tokens: torch.Tensor, hidden):
        """tokens [seq, batch] -> logits [seq, batch, ntoken] and the carried (h, c)."""
        emb = self.drop(self.encoder(tokens))
        output, hidden = self.rnn(emb, hidden)
        return self.decoder(self.drop(output)), hidden

    def init_hidden(self, batch: int):
        zeros = torch.zeros(self.nlayers, batch, self.nhid)
        return (zeros, zeros.clone())


def from_state_dict(state: dict) -> RNNModel:
    """A model shaped by a state dict (as ``quire import`` infers the shapes) with its weights."""
    ntoken, nhid = state["encoder.weight"].shape
    nlayers = sum(1 for k in state if k.startswith("rnn.weight_ih_l"))
    model = RNNModel(ntoken, nhid, nlayers)
    model.load_state_dict({k: v for k, v in state.items() if not k.startswith("quire.")})
    return model
