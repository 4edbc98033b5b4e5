

@pytest.mark.parametrize("text", ["kron(T, A)", "vec(T)"])
def test_kron_and_vec_of_a_tensor_are_an_error(text):
    with pytest.raises(mc.ShapeError, match="tensor of order 3") as err:
        mc.expression(text, vars={"T": "tensor(n,d,h)", "A": "matrix(m,n)"})
    assert "^" in str(err.value)
